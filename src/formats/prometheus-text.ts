/**
 * Prometheus text exposition format 0.0.4 (what prom-client and dcgm-exporter serve), read
 * into samples by metric name: the one parser of it, for the operator's direct signal source,
 * the local fleet's dcgm-exporter stand-in and the tests. Ours, not one from npm; on our own
 * bodies (signals-text-format.test.ts) the three on the registry fall short:
 * - parse-prometheus-text-format 1.1.1 merges every series of a labelled histogram into one
 *   and drops their _sum and _count (prom-client's zimage_nodejs_gc_duration_seconds{kind}
 *   comes out as one series), returns values as strings, and reads `m lots` or an HTML page
 *   as samples instead of failing; its code has not changed since August 2019;
 * - prom2javascript 0.2.0 (its only release) throws on NaN and -Inf, so on the runtime's own
 *   body (an event-loop lag of `Nan` before the first sample), and on an exemplar;
 * - @platformatic/promotel 0.2.2 converts to remote-write protobuf (pulling in prom-client,
 *   protobufjs, undici), silently drops NaN, +Inf and -Inf samples and lines it cannot read,
 *   and stamps samples without a timestamp with the clock.
 *
 * Grammar (prometheus.io, exposition_formats): `name[{l="v",...}] value [timestamp]`, label
 * values escape \\ \" \n, values are Go floats (NaN, +Inf, -Inf); # lines are HELP/TYPE or
 * comments. TYPE is not needed: a histogram is its `<name>_bucket{le}` samples. Like
 * Prometheus, one bad line rejects the whole body: half a scrape must not read as less load.
 */

export interface TextSample {
  labels: Record<string, string>;
  value: number;
}

/** Samples by metric name (a histogram's series are under `<name>_bucket`, `_sum`, `_count`). */
export type TextMetrics = Map<string, TextSample[]>;

export class TextFormatError extends Error {
  override name = 'TextFormatError';
}

const nameRe = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const labelNameRe = /^[a-zA-Z_][a-zA-Z0-9_]*/;

interface Cursor {
  line: string;
  at: number;
  lineNo: number;
}

function fail(c: Cursor, what: string): never {
  throw new TextFormatError(`line ${c.lineNo}: ${what} at column ${c.at + 1}: ${c.line}`);
}

function skipSpace(c: Cursor): void {
  while (c.line[c.at] === ' ' || c.line[c.at] === '\t') c.at++;
}

function token(c: Cursor, re: RegExp, what: string): string {
  const m = re.exec(c.line.slice(c.at));
  if (!m) fail(c, `expected ${what}`);
  c.at += m[0].length;
  return m[0];
}

function quoted(c: Cursor): string {
  if (c.line[c.at] !== '"') fail(c, 'expected "');
  let out = '';
  for (c.at++; c.at < c.line.length; c.at++) {
    const ch = c.line[c.at]!;
    if (ch === '"') {
      c.at++;
      return out;
    }
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = c.line[++c.at];
    if (next === 'n') out += '\n';
    else if (next === '\\' || next === '"') out += next;
    else fail(c, 'bad escape');
  }
  return fail(c, 'unterminated label value');
}

function labels(c: Cursor): Record<string, string> {
  const out: Record<string, string> = {};
  if (c.line[c.at] !== '{') return out;
  c.at++;
  for (;;) {
    skipSpace(c);
    if (c.line[c.at] === '}') break;
    const name = token(c, labelNameRe, 'a label name');
    skipSpace(c);
    if (c.line[c.at++] !== '=') fail(c, 'expected =');
    skipSpace(c);
    if (name in out) fail(c, `label ${name} twice`);
    out[name] = quoted(c);
    skipSpace(c);
    if (c.line[c.at] === ',') c.at++;
    else if (c.line[c.at] !== '}') fail(c, 'expected , or }');
  }
  c.at++;
  return out;
}

/** A Go float as the format writes it (strconv.ParseFloat: NaN, Inf and +Inf in any case). */
export function parseFloatGo(s: string): number | undefined {
  const lower = s.toLowerCase();
  if (lower === 'nan') return NaN;
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
  return Number(s);
}

function sampleLine(c: Cursor, out: TextMetrics): void {
  const name = token(c, nameRe, 'a metric name');
  const ls = labels(c);
  skipSpace(c);
  const raw = token(c, /^\S+/, 'a value');
  const value = parseFloatGo(raw);
  if (value === undefined) fail(c, `bad value ${raw}`);
  skipSpace(c);
  // An optional integer timestamp (ms); an OpenMetrics exemplar (` # {...} v`) is ignored.
  if (c.at < c.line.length && c.line[c.at] !== '#') token(c, /^-?\d+/, 'a timestamp');
  skipSpace(c);
  if (c.at < c.line.length && c.line[c.at] !== '#') fail(c, 'trailing text');
  const list = out.get(name);
  if (list) list.push({ labels: ls, value });
  else out.set(name, [{ labels: ls, value }]);
}

/** Parse a whole body; throws TextFormatError naming the line. */
export function parseTextFormat(body: string): TextMetrics {
  const out: TextMetrics = new Map();
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    const trimmed = line.trimStart();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    sampleLine({ line: trimmed, at: 0, lineNo: i + 1 }, out);
  }
  return out;
}
