/**
 * The bearer tokens a server accepts and a router sends, fixed or from a file that is read again
 * every second, so that a rotated Secret takes effect without a restart.
 *
 * Why polling and not fs.watch: kubelet updates a Secret volume by writing a new folder and
 * renaming a `..data` symlink over the old one; a watch on the file follows the old inode,
 * which never changes again, and a watch on the folder differs between platforms. Reading a
 * small file once a second costs microseconds and always sees what a reader of the path sees.
 *
 * The file holds one token per line, every one accepted; a sender presents the first. That
 * allows a rotation in steps with no timing at all (add the new token as a second line, then
 * swap the lines, then drop the old one). A one-step replacement works too: the tokens of the
 * file before a change stay accepted for a grace period after this process saw it, and the
 * router retries a pod's 401 with the previous token for as long (backend.ts), because kubelet
 * updates the volume of each pod at its own moment.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { every, systemClock, type Clock } from '../contract/clock.ts';
import { tokenRereadMs } from '../contract/auth.ts';

export interface Tokens {
  /** Whether a presented token is accepted now. */
  accepts(given: string): boolean;
  /** The token to present, and the one presented before the last change while its grace lasts. */
  send(): { current: string; previous?: string | undefined };
  stop(): void;
}

/** What RFC 6750 allows in a bearer token, roughly: printable ASCII without spaces. */
const tokenPattern = /^[\x21-\x7e]+$/;
export const tokenRule = 'must be printable ASCII without spaces (an RFC 6750 bearer token)';

/** One token per line (blank lines and surrounding whitespace ignored), or what is wrong. */
export function parseTokens(text: string): string[] | string {
  const tokens = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (tokens.length === 0) return 'holds no token';
  const bad = tokens.findIndex((t) => !tokenPattern.test(t));
  if (bad >= 0) return `line ${bad + 1} ${tokenRule}`;
  return tokens;
}

// Hashing both sides first makes timingSafeEqual compare 32 bytes always: the time taken
// reveals neither a token's content nor its length.
const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

interface TokenSet {
  tokens: string[];
  digests: Buffer[];
}
const setOf = (tokens: string[]): TokenSet => ({ tokens, digests: tokens.map(digest) });

/** Every digest is compared, matched or not. */
function matches(set: TokenSet, given: Buffer): boolean {
  let found = false;
  for (const d of set.digests) found = timingSafeEqual(d, given) || found;
  return found;
}

/** A token fixed at start-up (ZIMAGE_API_TOKEN). */
export function fixedTokens(token: string): Tokens {
  const set = setOf([token]);
  return {
    accepts: (given) => matches(set, digest(given)),
    send: () => ({ current: token }),
    stop() {},
  };
}

export interface TokenFileOptions {
  path: string;
  /** How long the tokens of the file before a change stay accepted. */
  graceMs: number;
  clock?: Clock;
  readFile?: (path: string) => string;
  log?: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

/**
 * Tokens from a file, read again every second. A file that cannot be read or holds no valid
 * token after start-up keeps the tokens last read (a Secret volume is never half-written;
 * a broken file is more likely a mistake than a wish to refuse everyone), with a warning.
 */
export class TokenFile implements Tokens {
  private readonly o: TokenFileOptions & { clock: Clock; readFile: (path: string) => string };
  private text: string;
  private current: TokenSet;
  private previous: (TokenSet & { until: number }) | undefined;
  private lastProblem: string | undefined;
  private readonly timer: { stop(): void };

  /** Reads the file now; throws when it cannot be read or holds no valid token. */
  constructor(options: TokenFileOptions) {
    this.o = {
      ...options,
      clock: options.clock ?? systemClock,
      readFile: options.readFile ?? ((p) => readFileSync(p, 'utf8')),
    };
    this.text = this.o.readFile(this.o.path);
    const parsed = parseTokens(this.text);
    if (typeof parsed === 'string') throw new Error(`${this.o.path} ${parsed}`);
    this.current = setOf(parsed);
    this.timer = every(this.o.clock, tokenRereadMs, () => this.reload());
  }

  accepts(given: string): boolean {
    const d = digest(given);
    const now = this.o.clock.now();
    const inGrace = this.previous !== undefined && now < this.previous.until;
    // Both sets are compared whatever the first says, so timing says nothing about which matched.
    const previous = inGrace && matches(this.previous!, d);
    return matches(this.current, d) || previous;
  }

  send() {
    const current = this.current.tokens[0]!;
    const p = this.previous;
    const previous = p && this.o.clock.now() < p.until ? p.tokens[0] : undefined;
    return { current, previous: previous === current ? undefined : previous };
  }

  stop(): void {
    this.timer.stop();
  }

  /** Read the file again; a change starts the previous tokens' grace. */
  reload(): void {
    let text: string;
    try {
      text = this.o.readFile(this.o.path);
    } catch (err) {
      return this.problem(
        `cannot read ${this.o.path} (${(err as { code?: string }).code ?? String(err)})`,
      );
    }
    if (text === this.text) return;
    const parsed = parseTokens(text);
    if (typeof parsed === 'string') return this.problem(`${this.o.path} ${parsed}`);
    const now = this.o.clock.now();
    this.previous =
      this.o.graceMs > 0 ? { ...this.current, until: now + this.o.graceMs } : undefined;
    this.current = setOf(parsed);
    this.text = text;
    this.lastProblem = undefined;
    this.o.log?.info(
      { file: this.o.path, tokens: parsed.length, graceSeconds: this.o.graceMs / 1000 },
      'token file changed: its new tokens are accepted now, the previous ones until the grace ends',
    );
  }

  /** Warn once per distinct problem (not every second). */
  private problem(message: string): void {
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    this.o.log?.warn({ file: this.o.path }, `${message}; keeping the tokens last read`);
  }
}
