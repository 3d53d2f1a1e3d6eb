/**
 * `npm run simulate -- --zid deploy/examples/x.yaml --trace file.csv`: try a ZImageDeployment's
 * autoscaling offline. Replays the trace through a simulated GPU fleet (src/sim) under the
 * policy the operator would run and under replica-only baselines with their default
 * settings, prints the table, then the decisions the policy took, with their reasons
 * (`--help`: every flag, scripts/simulate-args.ts).
 *
 * `simulation(args)` is the whole run without printing: scripts/docs-tables.ts runs the
 * commands quoted in docs/performance.md through it.
 *
 * Errors are one line on stderr: exit 2 for a bad flag, file or trace, 1 for anything else.
 * Output goes out in one write, and the process ends by running out of work (process.exitCode,
 * never process.exit()), so a pipe (`| head`, `| cat`) gets all of it or stops it cleanly.
 */
import fs from 'node:fs';
import { parse } from 'yaml';
import { zimageDeploymentSpec } from '../src/operator/api/v1alpha1/spec.ts';
import { stageSeconds } from '../src/contract/card.ts';
import { compare } from '../src/sim/compare.ts';
import { modelOf } from '../src/sim/model.ts';
import { imagesOf, PackedTrace, type Trace } from '../src/sim/packed-trace.ts';
import { table } from '../src/sim/report.ts';
import type { Routing, Run } from '../src/sim/run.ts';
import { readTraceFile, TraceError, traceDefaults, writeTraceFile } from '../src/sim/trace-csv.ts';
import { builtinTrace, shapes, type ShapeName } from '../src/sim/traces.ts';
import { parseSimulateArgs, usage, UsageError, type SimulateArgs } from './simulate-args.ts';

export { UsageError } from './simulate-args.ts';

type Spec = ReturnType<typeof zimageDeploymentSpec.parse>;

function readSpec(file: string): Spec {
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
    throw new UsageError(`${file} is not a valid ZImageDeployment: ${issues.join('; ')}`);
  }
  return parsed.data;
}

/** A trace's problems on one line: the first few rows, and how many more. */
function traceProblems(err: TraceError): string {
  const [summary] = err.message.split('\n');
  const shown = err.problems.slice(0, 3).map((p) => {
    const column = p.column ? `${p.column} ` : '';
    return `line ${p.line}: ${column}${p.message}`;
  });
  const more = err.problems.length - shown.length;
  return [summary, ...shown, ...(more > 0 ? [`and ${more} more`] : [])].join('; ');
}

function readTrace(a: SimulateArgs, spec: Spec): Trace {
  if (a.trace.startsWith('builtin:')) {
    const name = a.trace.slice('builtin:'.length);
    if (!Object.hasOwn(shapes, name)) {
      throw new UsageError(
        `--trace ${a.trace}: no such builtin; there are ${Object.keys(shapes).join(', ')}`,
      );
    }
    const q = {
      steps: spec.runtime.steps,
      offload: spec.runtime.offload,
      attention: spec.runtime.attention,
    };
    const card = modelOf(spec).card;
    return builtinTrace(name as ShapeName, card, q, spec.model.precision, a.seed, a.lengthSeconds);
  }
  try {
    return readTraceFile(a.trace, new PackedTrace(), `--trace ${a.trace}`);
  } catch (err) {
    const message = err instanceof TraceError ? traceProblems(err) : (err as Error).message;
    throw new UsageError(
      err instanceof TraceError ? message : `cannot read --trace ${a.trace}: ${message}`,
      { cause: err },
    );
  }
}

export interface Simulation {
  /** What the table is for: the card, its start-up and replicas; the trace and seed. */
  heading: string[];
  runs: Run[];
  /** The comparison as a markdown table, the policy's row first. */
  table: string;
  trace: Trace;
  args: SimulateArgs;
}

const span = (seconds: number) =>
  seconds < 2 * 3600
    ? `${(seconds / 60).toFixed(1)} min`
    : seconds < 2 * 86400
      ? `${(seconds / 3600).toFixed(1)} h`
      : `${(seconds / 86400).toFixed(1)} days`;

/**
 * Runs the command line `npm run simulate -- ARGS`; throws UsageError on bad input.
 * `beforeRuns` gets the trace before any controller runs (--write-trace).
 */
export function simulation(
  argv: readonly string[],
  beforeRuns: (trace: Trace, a: SimulateArgs) => void = () => {},
): Simulation {
  const a = parseSimulateArgs(argv);
  const spec = readSpec(a.zid);
  const trace = readTrace(a, spec);
  beforeRuns(trace, a);
  const over: { gpus?: number; startupSeconds?: number } = {};
  if (a.gpus !== undefined) over.gpus = a.gpus;
  if (a.startupSeconds !== undefined) over.startupSeconds = a.startupSeconds;
  const model = modelOf(spec, over);
  const fronts: Record<Routing, string> = {
    service: 'random Service load balancing',
    router: `router (queue ${a.routerQueues.join('/')} images, 1 per pod, pick())`,
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
    `${a.zid}: ${model.card.id}, steps ${q.steps}, offload ${q.offload}, attention ${q.attention}: ` +
      `${perImage.toFixed(2)} s per 1024x1024 image; pods ready ${model.startupSeconds.toFixed(0)} s after scheduling; ` +
      `${model.gpus} GPUs; replicas ${spec.autoscaling.minReplicas}..${spec.autoscaling.maxReplicas}`,
    `trace ${a.trace}: ${trace.length} requests, ${images} images over ${span(trace.at(-1)?.offsetSeconds ?? 0)}, seed ${a.seed}; ` +
      `${a.routings.map((r) => fronts[r]).join(' / ')}, maxQueue ${model.maxQueue} per pod, 429 retried ${model.retries}x`,
  ];
  const runs = compare(spec, trace, {
    seed: a.seed,
    model: over,
    hpaTargets: a.hpaTargets,
    routings: a.routings,
    routerQueues: a.routerQueues,
    controllers: a.controllers,
  });
  return { heading, runs, table: table(runs, model.sloSeconds), trace, args: a };
}

/** The decisions of the policy's first run, at most `limit` lines, saying how many are left out. */
function decisions(runs: readonly Run[], limit: number): string[] {
  const log = runs.find((r) => r.controller === 'zimage policy')?.log;
  if (!log || limit === 0) return [];
  const left = log.length - limit;
  return [
    '',
    `Decisions the policy would take (${log.length}):`,
    ...log.slice(0, limit).map((line) => `  ${line}`),
    ...(left > 0 ? [`  ... ${left} more left out (--decisions N prints N)`] : []),
  ];
}

function writeTrace(file: string, trace: Trace): void {
  try {
    writeTraceFile(file, trace);
  } catch (err) {
    const message = `cannot write --write-trace ${file}: ${(err as Error).message}`;
    throw new UsageError(message, { cause: err });
  }
}

function main(): void {
  // A reader that stops early (`| head`) closes the pipe: nothing more to say to it.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  try {
    const argv = process.argv.slice(2);
    if (parseSimulateArgs(argv).help) {
      process.stdout.write(`${usage}\n`);
      return;
    }
    const sim = simulation(argv, (trace, a) => {
      if (a.writeTrace) writeTrace(a.writeTrace, trace);
    });
    const out = [...sim.heading, '', ...(sim.runs.length > 0 ? [sim.table] : [])];
    out.push(...decisions(sim.runs, sim.args.decisions));
    process.stdout.write(`${out.join('\n')}\n`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`simulate: ${message.replace(/\s*\n\s*/g, '; ')}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  }
}

if (import.meta.main) main();
