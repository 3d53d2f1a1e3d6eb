/**
 * The command line of `npm run load` as data: argv in, options (or the bad flags, each named)
 * out. Pure but for reading a --trace file, so the flags are tested without running anything.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  LoadOptionsError,
  parseLoadOptions,
  parseServiceRef,
  type LoadOptions,
} from './options.ts';
import type { ScheduleSpec } from './schedule.ts';
import { parseTrace, TraceError } from '../../src/sim/trace-csv.ts';

export const usage = `usage: npm run load -- (--target URL | --service NAMESPACE/NAME) [schedule] [request] [limits]

  --target URL          one server on loopback (127.0.0.0/8, ::1, localhost), every request
                        to it: a runtime or router started by hand, or one pod's IP
  --service NS/NAME     or a Service of the local cluster, spread as kube-proxy would: each
                        request to one of its Ready pods at random (listed every second, each
                        on loopback; <name> selects the routers, <name>-pods the runtime pods)
  --kubeconfig FILE     with --service: the cluster (default: the running local cluster's)
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
  service: { type: 'string' },
  kubeconfig: { type: 'string' },
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
  service: '--service',
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

/** `  --rate: must be ...`, one line per issue, by the flag a person typed. */
export function issueLines(err: LoadOptionsError): string[] {
  return err.issues.map((i) => `  ${flagOf[i.path] ?? i.path}: ${i.message}`);
}

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
    .map((f) => `  --${f}: "${v[f]}" is not a number`);
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

const defined = <T extends object>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as T;

function options(v: Values, env: NodeJS.ProcessEnv): LoadOptions & { recordPath: string } {
  const request = {
    prompt: v.prompt,
    size: v.size,
    steps: num(v.steps),
    n: num(v.n),
    seed: num(v['image-seed']),
  };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const token = v.token ?? env['ZIMAGE_API_TOKEN'];
  return defined({
    target: v.target,
    service: v.service,
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

export interface ArgsContext {
  env: NodeJS.ProcessEnv;
  /** The running local cluster's admin kubeconfig (dev/state.ts), if one runs. */
  runningKubeconfig: () => string | undefined;
}

export type ParsedArgs =
  | { kind: 'help' }
  /** Exit 2 with these lines, each naming its flag. */
  | { kind: 'invalid'; lines: string[] }
  | {
      kind: 'run';
      options: LoadOptions & { recordPath: string };
      json: boolean;
      /** With --service: the Service and the kubeconfig to list its backends with. */
      service?: { namespace: string; name: string; kubeconfig: string };
    };

/** argv (after `--`) to what to run, or the flags that are wrong. */
export function parseLoadArgs(argv: string[], ctx: ArgsContext): ParsedArgs {
  let v: Values;
  try {
    v = parseArgs({ args: argv, options: flags, strict: true, allowPositionals: false }).values;
  } catch (err) {
    return { kind: 'invalid', lines: [`  ${(err as Error).message}`] };
  }
  if (v.help) return { kind: 'help' };
  const bad = notNumbers(v);
  if (v.kubeconfig !== undefined && v.service === undefined)
    bad.push("  --kubeconfig: only with --service (it lists the Service's backends)");
  if (bad.length > 0) return { kind: 'invalid', lines: bad };
  let o: LoadOptions & { recordPath: string };
  try {
    o = options(v, ctx.env);
    parseLoadOptions(o);
  } catch (err) {
    if (err instanceof LoadOptionsError) return { kind: 'invalid', lines: issueLines(err) };
    if (err instanceof TraceError) return { kind: 'invalid', lines: [`  ${err.message}`] };
    throw err;
  }
  if (o.service === undefined) return { kind: 'run', options: o, json: v.json };
  const kubeconfig = v.kubeconfig ?? ctx.runningKubeconfig();
  if (!kubeconfig) {
    const message =
      'no local cluster is running (npm run cluster:up) to default to: give the kubeconfig of the cluster that runs the Service';
    return { kind: 'invalid', lines: [`  --kubeconfig: ${message}`] };
  }
  return {
    kind: 'run',
    options: o,
    json: v.json,
    service: { ...parseServiceRef(o.service), kubeconfig },
  };
}
