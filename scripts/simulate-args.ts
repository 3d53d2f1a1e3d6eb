/**
 * The command line of `npm run simulate` as data: argv in, the options out, or a UsageError
 * whose one line names the flag and what it takes. node:util parseArgs reads the tokens; it
 * is run loose (strict: false) so that each kind of mistake can be told in our words: an
 * unknown flag, a flag without its value (`--zid --trace x`), a value where none belongs, a
 * stray word. parseArgs takes the word after a flag as its value even when it starts with a
 * dash, so `--startup -5` reaches the check of --startup ("a number above 0, got -5").
 */
import { parseArgs } from 'node:util';
import { durationPattern, durationSeconds } from '../src/operator/api/v1alpha1/schema-kit.ts';
import { controllerKinds, type ControllerKind } from '../src/sim/compare.ts';
import { routings, type Routing } from '../src/sim/run.ts';
import { shapes } from '../src/sim/traces.ts';

const builtins = Object.keys(shapes).join(', ');

export const usage = `usage: npm run simulate -- --zid FILE.yaml --trace FILE.csv|builtin:NAME [options]

Replays a request trace through a simulated GPU fleet under the ZImageDeployment's autoscaling
policy and under replica-only baselines (HPA, KEDA, Knative KPA), prints a table, then the
decisions the policy took.

  --zid FILE.yaml          the ZImageDeployment (its spec: card, runtime, autoscaling)
  --trace FILE.csv         offset_seconds,size,steps,n (the load generator's format), or
  --trace builtin:NAME     a synthetic trace for the spec's card: ${builtins}
  --length DURATION        builtin traces: this long, the shape repeating (e.g. 552h: 23 days)
  --seed N                 draws the builtin trace and the Service's random pods (default 1)
  --gpus N                 GPUs the cluster has (default maxReplicas)
  --startup SECONDS        pod start to Ready (default: the card's weight load and warm-up)
  --controllers LIST       policy,hpa,keda,kpa or none (default all)
  --policy-only            the same as --controllers policy
  --hpa-target PCT[,PCT]   HPA GPU utilization targets, one row each (default 50,80)
  --routing MODE           service (random pods, the default), router, or both
  --router-queue N[,N]     the router's queue bound in images, one row each (default 64)
  --decisions N            decision lines printed (default 200; 0: none)
  --write-trace FILE.csv   write the trace (before simulating)
  -h, --help               this text`;

/** A bad flag, file or trace: the CLI prints its message on one line and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const hint = 'run with --help for usage';

/** What each flag takes, as its error message says it. */
const takes = {
  zid: 'FILE.yaml, a ZImageDeployment',
  trace: `FILE.csv or builtin:NAME (${builtins})`,
  length: 'a duration such as 552h, 90m or 1h30m',
  seed: 'a whole number',
  gpus: 'a whole number of GPUs, 1 or more',
  startup: 'seconds, a number above 0',
  controllers: `a comma-separated list of ${controllerKinds.join(', ')}, or none`,
  'policy-only': 'no value',
  'hpa-target': 'GPU utilization percentages above 0 and at most 100, comma-separated',
  routing: `${routings.join(', ')} or both`,
  'router-queue': 'whole numbers of images, 1 or more, comma-separated',
  decisions: 'a whole number of lines, 0 or more',
  'write-trace': 'FILE.csv to write',
  help: 'no value',
} as const;
type Flag = keyof typeof takes;

const options = {
  zid: { type: 'string' },
  trace: { type: 'string' },
  length: { type: 'string' },
  seed: { type: 'string', default: '1' },
  gpus: { type: 'string' },
  startup: { type: 'string' },
  controllers: { type: 'string' },
  'policy-only': { type: 'boolean', default: false },
  'hpa-target': { type: 'string', default: '50,80' },
  routing: { type: 'string', default: 'service' },
  'router-queue': { type: 'string', default: '64' },
  decisions: { type: 'string', default: '200' },
  'write-trace': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies Record<
  Flag,
  { type: 'string' | 'boolean'; default?: string | boolean; short?: string }
>;

export interface SimulateArgs {
  help: boolean;
  zid: string;
  trace: string;
  /** Seconds of a builtin trace (its own length when undefined). */
  lengthSeconds?: number;
  seed: number;
  gpus?: number;
  startupSeconds?: number;
  controllers: readonly ControllerKind[];
  hpaTargets: number[];
  routings: readonly Routing[];
  routerQueues: number[];
  decisions: number;
  writeTrace?: string;
}

const bad = (flag: Flag, got: string) =>
  new UsageError(`--${flag} takes ${takes[flag]}, got "${got}"; ${hint}`);

const isFlag = (name: string): name is Flag => Object.hasOwn(takes, name);

/** argv after `npm run simulate --`; throws UsageError. */
export function parseSimulateArgs(argv: readonly string[]): SimulateArgs {
  const { values, tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of tokens) checkToken(token);
  const v = values as Record<Flag, string | boolean | undefined>;
  const text = (flag: Flag) => v[flag] as string | undefined;
  if (v.help) return { help: true } as SimulateArgs;
  for (const flag of ['zid', 'trace'] as const)
    if (text(flag) === undefined)
      throw new UsageError(`--${flag} is required: ${takes[flag]}; ${hint}`);
  const args: SimulateArgs = {
    help: false,
    zid: text('zid')!,
    trace: text('trace')!,
    seed: whole('seed', text('seed')!, -(2 ** 31), 2 ** 31 - 1),
    controllers: controllersOf(text('controllers'), v['policy-only'] === true),
    hpaTargets: list('hpa-target', text('hpa-target')!, (t) => percent(t)),
    routings: routingsOf(text('routing')!),
    routerQueues: list('router-queue', text('router-queue')!, (t) => wholeOr(t, 1)),
    decisions: whole('decisions', text('decisions')!, 0),
    ...optionals(text),
  };
  if (args.lengthSeconds !== undefined && !args.trace.startsWith('builtin:'))
    throw new UsageError(
      `--length applies to builtin traces only, not --trace ${args.trace}; ${hint}`,
    );
  return args;
}

type Token = ReturnType<typeof parseArgs>['tokens'] extends (infer T)[] | undefined ? T : never;

/** A stray word, an unknown flag, a flag without its value or with one it does not take. */
function checkToken(token: Token): void {
  if (token.kind === 'positional')
    throw new UsageError(`unexpected "${token.value}": each value follows its flag; ${hint}`);
  if (token.kind !== 'option') return;
  if (!isFlag(token.name)) throw unknown(token.rawName);
  const { type } = options[token.name];
  const value = token.value;
  if (type === 'boolean' && value !== undefined) throw bad(token.name, value);
  // A flag followed by another flag (or nothing) has no value; "-5" is a value.
  const missing = value === undefined || (!token.inlineValue && /^-[^\d.]/.test(value));
  if (type === 'string' && missing)
    throw new UsageError(`--${token.name} needs a value: ${takes[token.name]}; ${hint}`);
}

/** The flags without a default, those given. */
function optionals(text: (flag: Flag) => string | undefined): Partial<SimulateArgs> {
  const out: Partial<SimulateArgs> = {};
  const [length, gpus, startup, writeTrace] = [
    text('length'),
    text('gpus'),
    text('startup'),
    text('write-trace'),
  ];
  if (length !== undefined) out.lengthSeconds = duration(length);
  if (gpus !== undefined) out.gpus = whole('gpus', gpus, 1);
  if (startup !== undefined) out.startupSeconds = above0('startup', startup);
  if (writeTrace !== undefined) out.writeTrace = writeTrace;
  return out;
}

function unknown(raw: string): UsageError {
  const given = raw.replace(/^-+/, '');
  const near = Object.keys(takes).filter((f) => f.startsWith(given) || given.startsWith(f));
  const suggestion =
    near.length === 1 && given !== ''
      ? ` (did you mean --${near[0]}?)`
      : `; the flags are ${Object.keys(takes)
          .map((f) => `--${f}`)
          .join(', ')}`;
  return new UsageError(`unknown flag ${raw}${suggestion}; ${hint}`);
}

/** A whole number in [min, max], written as one (no "1e3", no "2.0"). */
function whole(flag: Flag, t: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(t);
  if (!/^-?\d+$/.test(t.trim()) || n < min || n > max) throw bad(flag, t);
  return n;
}

function wholeOr(t: string, min: number): number | undefined {
  const n = Number(t);
  return /^\d+$/.test(t.trim()) && n >= min && Number.isSafeInteger(n) ? n : undefined;
}

function above0(flag: Flag, t: string): number {
  const n = Number(t);
  if (t.trim() === '' || !Number.isFinite(n) || n <= 0) throw bad(flag, t);
  return n;
}

function percent(t: string): number | undefined {
  const n = Number(t);
  return t.trim() !== '' && Number.isFinite(n) && n > 0 && n <= 100 ? n : undefined;
}

function duration(t: string): number {
  const seconds = durationPattern.test(t) ? durationSeconds(t) : 0;
  if (seconds <= 0) throw bad('length', t);
  return seconds;
}

/** A comma-separated list, each item judged by `item` (undefined: bad). */
function list(flag: Flag, t: string, item: (t: string) => number | undefined): number[] {
  const items = t.split(',').map(item);
  if (items.some((x) => x === undefined)) throw bad(flag, t);
  return items as number[];
}

function routingsOf(t: string): readonly Routing[] {
  if (t === 'both') return routings;
  const one = routings.find((r) => r === t);
  if (!one) throw bad('routing', t);
  return [one];
}

function controllersOf(t: string | undefined, policyOnly: boolean): readonly ControllerKind[] {
  if (policyOnly) {
    if (t !== undefined)
      throw new UsageError(`--policy-only and --controllers: one or the other; ${hint}`);
    return ['policy'];
  }
  if (t === undefined) return controllerKinds;
  if (t === 'none') return [];
  const kinds = t.split(',');
  const known = (k: string): k is ControllerKind => controllerKinds.some((c) => c === k);
  if (!kinds.every(known)) throw bad('controllers', t);
  return controllerKinds.filter((k) => kinds.includes(k));
}
