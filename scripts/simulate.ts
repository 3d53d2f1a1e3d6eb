/**
 * `npm run simulate -- --zid deploy/examples/x.yaml --trace file.csv`: try a ZImageDeployment's
 * autoscaling offline. Replays the trace through a simulated GPU fleet (src/sim) under the
 * policy the operator would run and under replica-only baselines with their default
 * settings, prints the table, then every decision the policy took, with its reason.
 *
 * --trace takes a CSV in the load generator's format (offset_seconds,size,steps,n) or builtin:NAME
 * (bursty, daily-ramp, constant, seed, multi-image), generated for the spec's card with --seed.
 * --routing puts a Service (random pods, the default: today's deployments) or the router in
 * front of the pods, or runs each controller behind both (`both`: two rows each); --router-queue
 * gives the router's queue bound, or several (a router row for each); --policy-only leaves out
 * the baselines.
 *
 * `simulation(args)` is the whole run without printing: scripts/docs-tables.ts runs the
 * commands quoted in docs/performance.md through it.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { zimageDeploymentSpec } from '../src/operator/api/v1alpha1/spec.ts';
import { readTraceFile, traceDefaults, writeTraceFile } from '../src/sim/trace-csv.ts';
import { imagesOf, PackedTrace, type Trace } from '../src/sim/packed-trace.ts';
import { stageSeconds } from '../src/contract/card.ts';
import { compare } from '../src/sim/compare.ts';
import { modelOf } from '../src/sim/model.ts';
import { table } from '../src/sim/report.ts';
import { routings, type Routing, type Run } from '../src/sim/run.ts';
import { builtinTrace, shapes, type ShapeName } from '../src/sim/traces.ts';

const usage = `usage: npm run simulate -- --zid FILE.yaml --trace FILE.csv|builtin:NAME
  [--seed N] [--gpus N] [--startup SECONDS] [--hpa-target PCT[,PCT]] [--write-trace FILE.csv]
  [--routing service|router|both (default service)] [--router-queue IMAGES[,IMAGES] (default 64)]
  [--policy-only (no baselines)] [--decisions N (default 200; 0: none)]
builtin traces: ${Object.keys(shapes).join(', ')}`;

/** A bad flag, file or trace: the CLI prints it with the usage and exits 2. */
export class UsageError extends Error {}

const options = {
  zid: { type: 'string' },
  trace: { type: 'string' },
  seed: { type: 'string', default: '1' },
  gpus: { type: 'string' },
  startup: { type: 'string' },
  'hpa-target': { type: 'string', default: '80' },
  'write-trace': { type: 'string' },
  decisions: { type: 'string', default: '200' },
  routing: { type: 'string', default: 'service' },
  'router-queue': { type: 'string' },
  'policy-only': { type: 'boolean', default: false },
} as const;

function positive(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    throw new UsageError(`--${name} must be a positive number, got "${text}"`);
  }
  return n;
}

function whole(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < 0) {
    throw new UsageError(`--${name} must be a whole number, 0 or more, got "${text}"`);
  }
  return n;
}

function routingsOf(text: string): readonly Routing[] {
  if (text === 'both') return routings;
  const one = routings.find((r) => r === text);
  if (!one) throw new UsageError(`--routing must be service, router or both, got "${text}"`);
  return [one];
}

function readSpec(file: string) {
  let doc: unknown;
  try {
    doc = parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read --zid ${file}: ${(err as Error).message}`, { cause: err });
  }
  const spec = (doc as { spec?: unknown } | null)?.spec;
  const parsed = zimageDeploymentSpec.safeParse(spec);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`);
    throw new UsageError(`${file} is not a valid ZImageDeployment:\n  ${issues.join('\n  ')}`);
  }
  return parsed.data;
}

function readTrace(arg: string, spec: ReturnType<typeof readSpec>, seed: number): Trace {
  if (arg.startsWith('builtin:')) {
    const name = arg.slice('builtin:'.length);
    if (!(name in shapes)) throw new UsageError(`no builtin trace "${name}"`);
    const q = {
      steps: spec.runtime.steps,
      offload: spec.runtime.offload,
      attention: spec.runtime.attention,
    };
    return builtinTrace(name as ShapeName, modelOf(spec).card, q, spec.model.precision, seed);
  }
  try {
    return readTraceFile(arg, new PackedTrace(), `--trace ${arg}`);
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
}

function parseFlags(args: readonly string[]) {
  try {
    return parseArgs({ args: [...args], options }).values;
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
}

export interface Simulation {
  /** What the table is for: the card, its start-up and replicas; the trace and seed. */
  heading: string[];
  runs: Run[];
  /** The comparison as a markdown table, the policy's row first. */
  table: string;
  trace: Trace;
  flags: ReturnType<typeof parseFlags>;
}

/** Runs the command line `npm run simulate -- ARGS`; throws UsageError on bad input. */
export function simulation(args: readonly string[]): Simulation {
  const flags = parseFlags(args);
  if (!flags.zid || !flags.trace) throw new UsageError('--zid and --trace are required');
  const seed = Number(flags.seed);
  if (!Number.isInteger(seed)) {
    throw new UsageError(`--seed must be a whole number, got "${flags.seed}"`);
  }
  const routing = routingsOf(flags.routing);
  const spec = readSpec(flags.zid);
  const trace = readTrace(flags.trace, spec, seed);
  const hpaTargets = flags['hpa-target'].split(',').map((t) => positive('hpa-target', t)!);
  const over: { gpus?: number; startupSeconds?: number } = {};
  const gpus = positive('gpus', flags.gpus);
  if (gpus !== undefined) over.gpus = gpus;
  const startup = positive('startup', flags.startup);
  if (startup !== undefined) over.startupSeconds = startup;
  const model = modelOf(spec, over);
  const routerQueues = (flags['router-queue'] ?? String(model.routerMaxQueue))
    .split(',')
    .map((t) => whole('router-queue', t)!);

  const fronts: Record<Routing, string> = {
    service: 'random Service load balancing',
    router: `router (queue ${routerQueues.join('/')} images, 1 per pod, pick())`,
  };
  const q = spec.runtime;
  const perImage = stageSeconds(model.card, {
    width: 1024,
    height: 1024,
    steps: q.steps,
    precision: spec.model.precision,
    offload: q.offload,
    attention: q.attention,
  }).total;
  const images = imagesOf(trace, traceDefaults.n);
  const heading = [
    `${flags.zid}: ${model.card.id}, steps ${q.steps}, offload ${q.offload}, attention ${q.attention}: ` +
      `${perImage.toFixed(2)} s per 1024x1024 image; pods ready ${model.startupSeconds.toFixed(0)} s after scheduling; ` +
      `${model.gpus} GPUs; replicas ${spec.autoscaling.minReplicas}..${spec.autoscaling.maxReplicas}`,
    `trace ${flags.trace}: ${trace.length} requests, ${images} images over ${((trace.at(-1)?.offsetSeconds ?? 0) / 60).toFixed(1)} min, seed ${seed}; ` +
      `${routing.map((r) => fronts[r]).join(' / ')}, maxQueue ${model.maxQueue} per pod, 429 retried ${model.retries}x`,
  ];
  const runs = compare(spec, trace, {
    seed,
    model: over,
    hpaTargets,
    routings: routing,
    routerQueues,
    policyOnly: flags['policy-only'],
  });
  return { heading, runs, table: table(runs, model.sloSeconds), trace, flags };
}

function main(): void {
  let sim: Simulation;
  try {
    sim = simulation(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`simulate: ${err.message}\n${usage}`);
    process.exit(2);
  }
  const writeTrace = sim.flags['write-trace'];
  if (writeTrace) writeTraceFile(writeTrace, sim.trace);
  console.log(`${sim.heading.join('\n')}\n`);
  console.log(sim.table);
  const limit = Number(sim.flags.decisions);
  const log = sim.runs[0]!.log;
  if (limit > 0) {
    console.log(
      `\nDecisions the policy would take (${log.length}${log.length > limit ? `, first ${limit}` : ''}):`,
    );
    for (const line of log.slice(0, limit)) console.log(`  ${line}`);
  }
}

if (import.meta.main) main();
