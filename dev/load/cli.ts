/**
 * `npm run load -- --target http://127.0.0.1:8080 --rate 2 --duration 30`: the open-loop load
 * generator from the command line. Exit 0 after a run (whatever the server answered), 2 for
 * bad arguments (each named by its flag), 1 when the run itself failed.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LoadOptionsError, type LoadOptions } from './options.ts';
import { progressPrinter } from './progress.ts';
import { runLoad } from './run.ts';
import type { ScheduleSpec } from './schedule.ts';
import { formatSummary } from './summary.ts';
import { TargetError } from './target.ts';
import { parseTrace, TraceError } from '../../src/sim/trace-csv.ts';

const usage = `usage: npm run load -- --target URL [schedule] [request] [limits]

  --target URL          runtime or Service on loopback (127.0.0.0/8, ::1, localhost)
schedule (requests arrive on it whether or not earlier ones were answered):
  --schedule KIND       constant (default), poisson, ramp, burst or trace
  --rate R              requests per second (constant, poisson; ramp: the start; burst: between bursts)
  --to-rate R           ramp: the rate at the end
  --duration S          seconds the schedule runs (constant, poisson, ramp, burst)
  --seed N              poisson, and ramp with Poisson arrivals (default 1 for poisson)
  --burst N --every S   burst: N requests at once every S seconds
  --trace FILE          trace: CSV of offset_seconds,size,steps,n
request:
  --prompt TEXT --size WxH --steps N --n N --image-seed N (request i gets N + i)
  --token TOKEN         bearer token (default: $ZIMAGE_API_TOKEN)
limits and output:
  --max-requests N      refuse a schedule with more (default 1000, at most 100000)
  --max-duration S      end the run after S seconds, schedule and drain (default 600, at most 3600)
  --max-in-flight N     outstanding requests; more are skipped, not delayed (default 1000)
  --timeout S           client deadline per request (default 300)
  --bound S             latency bound for "served in time" (default 15)
  --out FILE            NDJSON, one record per request (default: a new file under ${os.tmpdir()})
  --json                print the summary as JSON`;

const flags = {
  target: { type: 'string' },
  schedule: { type: 'string', default: 'constant' },
  rate: { type: 'string' },
  'to-rate': { type: 'string' },
  duration: { type: 'string' },
  seed: { type: 'string' },
  burst: { type: 'string' },
  every: { type: 'string' },
  trace: { type: 'string' },
  prompt: { type: 'string' },
  size: { type: 'string' },
  steps: { type: 'string' },
  n: { type: 'string' },
  'image-seed': { type: 'string' },
  token: { type: 'string' },
  'max-requests': { type: 'string' },
  'max-duration': { type: 'string' },
  'max-in-flight': { type: 'string' },
  timeout: { type: 'string' },
  bound: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

/** Option paths back to the flag a person typed, for error messages. */
const flagOf: Record<string, string> = {
  target: '--target',
  schedule: '--schedule',
  'schedule.kind': '--schedule',
  'schedule.rate': '--rate',
  'schedule.fromRate': '--rate',
  'schedule.toRate': '--to-rate',
  'schedule.baseRate': '--rate',
  'schedule.durationSeconds': '--duration',
  'schedule.seed': '--seed',
  'schedule.size': '--burst',
  'schedule.everySeconds': '--every',
  'request.prompt': '--prompt',
  'request.size': '--size',
  'request.steps': '--steps',
  'request.n': '--n',
  'request.seed': '--image-seed',
  maxRequests: '--max-requests',
  maxDurationSeconds: '--max-duration',
  maxInFlight: '--max-in-flight',
  requestTimeoutSeconds: '--timeout',
  latencyBoundSeconds: '--bound',
  recordPath: '--out',
};

type Values = ReturnType<typeof parseArgs<{ options: typeof flags }>>['values'];

const numericFlags = [
  'rate',
  'to-rate',
  'duration',
  'seed',
  'burst',
  'every',
  'steps',
  'n',
  'image-seed',
  'max-requests',
  'max-duration',
  'max-in-flight',
  'timeout',
  'bound',
] as const;

/** `--rate: "abc" is not a number`, for each numeric flag that is not one. */
function notNumbers(v: Values): string[] {
  return numericFlags
    .filter((f) => v[f] !== undefined && (v[f]?.trim() === '' || !Number.isFinite(Number(v[f]))))
    .map((f) => `--${f}: "${v[f]}" is not a number`);
}

const num = (text: string | undefined) => (text === undefined ? undefined : Number(text));

function readTrace(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const message = `cannot read ${file} (${(err as Error).message})`;
    throw new LoadOptionsError([{ path: '--trace', message }], { cause: err });
  }
}

function schedule(v: Values): ScheduleSpec {
  const rate = num(v.rate);
  const durationSeconds = num(v.duration);
  const seed = num(v.seed);
  const spec: Record<string, unknown> = { kind: v.schedule };
  switch (v.schedule) {
    case 'constant':
      Object.assign(spec, { rate, durationSeconds });
      break;
    case 'poisson':
      Object.assign(spec, { rate, durationSeconds, seed: seed ?? 1 });
      break;
    case 'ramp':
      Object.assign(spec, { fromRate: rate, toRate: num(v['to-rate']), durationSeconds, seed });
      break;
    case 'burst':
      Object.assign(spec, {
        size: num(v.burst),
        everySeconds: num(v.every),
        durationSeconds,
        baseRate: rate,
      });
      break;
    case 'trace':
      if (!v.trace) {
        const message = 'a CSV file is required with --schedule trace';
        throw new LoadOptionsError([{ path: '--trace', message }]);
      }
      Object.assign(spec, { rows: parseTrace(readTrace(v.trace), `--trace ${v.trace}`) });
      break;
  }
  // Unset flags are left out, so the schema says "required" rather than "expected number".
  return Object.fromEntries(
    Object.entries(spec).filter(([, x]) => x !== undefined),
  ) as ScheduleSpec;
}

function options(v: Values): LoadOptions & { recordPath: string } {
  const request = {
    prompt: v.prompt,
    size: v.size,
    steps: num(v.steps),
    n: num(v.n),
    seed: num(v['image-seed']),
  };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const defined = <T extends object>(o: T) =>
    Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as T;
  const token = v.token ?? process.env['ZIMAGE_API_TOKEN'];
  return defined({
    target: v.target ?? '',
    schedule: schedule(v),
    request: defined(request),
    maxRequests: num(v['max-requests']),
    maxDurationSeconds: num(v['max-duration']),
    maxInFlight: num(v['max-in-flight']),
    requestTimeoutSeconds: num(v.timeout),
    latencyBoundSeconds: num(v.bound),
    recordPath: v.out ?? path.join(os.tmpdir(), `zimage-load-${stamp}.ndjson`),
    token: token || undefined,
  });
}

async function main(argv: string[]): Promise<number> {
  let v: Values;
  try {
    v = parseArgs({ args: argv, options: flags, strict: true, allowPositionals: false }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage}\n`);
    return 2;
  }
  if (v.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const bad = notNumbers(v);
  if (bad.length > 0) {
    process.stderr.write(
      `invalid arguments:\n  ${bad.join('\n  ')}\n\nrun with --help for usage\n`,
    );
    return 2;
  }
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  try {
    const o = options(v);
    const print = progressPrinter(process.stderr);
    let started = false;
    const onProgress: typeof print = (p, final) => {
      // The first tick comes once the options were accepted and the file is open.
      if (!started) process.stderr.write(`recording every request to ${o.recordPath}\n`);
      started = true;
      print(p, final);
    };
    const summary = await runLoad({
      ...o,
      signal: stop.signal,
      onProgress,
    });
    process.stdout.write(`${v.json ? JSON.stringify(summary, null, 2) : formatSummary(summary)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof LoadOptionsError) {
      const lines = err.issues.map((i) => `  ${flagOf[i.path] ?? i.path}: ${i.message}`);
      process.stderr.write(
        `invalid arguments:\n${lines.join('\n')}\n\nrun with --help for usage\n`,
      );
      return 2;
    }
    if (err instanceof TargetError || err instanceof TraceError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
