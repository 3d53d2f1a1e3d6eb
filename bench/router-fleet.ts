/**
 * The router on the live fleet (issue 18): the same trace of multi-image requests replayed
 * through the router and through a plain Service, on one ZImageDeployment.
 *
 * - The fleet: one 8-GPU H100 node and a CPU node; 3 runtime pods (autoscaling Off, so both
 *   arms see the same capacity) on the tiny model, paced as H100s: 256x256 at 50 steps is
 *   1.10 s an image on the card model (src/contract/card.ts; a real 1024x1024 image at 9 steps
 *   is 1.23 s). spec.router.enabled with its defaults (2 routers, a queue of 64 images, 1 slot
 *   per pod); spec.runtime.maxImagesPerRequest 8; everything else the spec's defaults.
 * - The trace: Poisson arrivals of requests for 1 to 8 images in builtin:multi-image's mix
 *   (src/sim/traces.ts multiImageCounts, 2.21 images a request), then scaled in time so that
 *   its images are `load` of the 3 pods' capacity: near capacity, where routing matters. The
 *   capacity is measured first (12 images, 4 on each pod at once): on a shared 2-core host an
 *   image takes longer than the card model's 1.10 s (the tiny model's own VAE time, timers
 *   waking late), and a trace at 85% of the model would be past 100% of the pods.
 * - The arms, each with the load generator aiming at a Service as kube-proxy would
 *   (`--service`, dev/load/spread.ts: each request to a random Ready backend):
 *   `router` = Service `<name>`, which selects the routers (a random router per request, as
 *   a client inside the cluster gets), `service` = Service `<name>-pods`, the runtime pods
 *   (a random pod per request, today's Service without the router). Each repeat replays one
 *   trace (its own seed) through both arms, alternating which goes first.
 * - The measures, per image (a request for n images answered after T counts n images of
 *   wait T, as the runtime and the router answer all n at once): images over 15 s (late), p95
 *   and p99 of the served images' wait, and refused images (429: not served, so not late,
 *   their own column); other failures (5xx, no answer) as well.
 * - Left in bench/results/: each repeat's trace (router-fleet-trace-N.csv, which
 *   `npm run load -- --service bench/rf-pods --schedule trace --trace FILE` replays), every
 *   request of each arm (router-fleet-ARM-N.ndjson) and the runs (router-fleet-runs.json).
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { cards, stageSeconds } from '../src/contract/card.ts';
import { routerMetrics, runtimeMetrics } from '../src/contract/metrics.ts';
import { defaultAttention } from '../src/contract/runtime.ts';
import { parseTextFormat } from '../src/formats/prometheus-text.ts';
import { routerSelectorLabels } from '../src/operator/api/v1alpha1/names.ts';
import { formatTrace, type TraceRow } from '../src/sim/trace-csv.ts';
import { generate, multiImageCounts } from '../src/sim/traces.ts';
import { benchNodePools } from '../dev/nodes.ts';
import { startCluster } from '../dev/cluster.ts';
import { serviceBackends } from '../dev/fleet/service.ts';
import { runLoad, type LoadRecord } from '../dev/load/index.ts';
import {
  installOperatorManifests,
  operatorKubeconfig,
  startOperator,
  type OperatorProcess,
} from '../dev/operator.ts';
import { fleetSpec } from '../dev/specs.ts';
import { createModelVolume } from '../dev/volumes.ts';
import { eventually } from '../dev/wait.ts';
import { zidClient } from '../dev/zid.ts';
import type { Row } from './cluster.ts';

/** The workload: one size and step count, paced as an H100. */
export const fleetWorkload = (() => {
  const size = { width: 256, height: 256 };
  const steps = 50;
  const perImageSeconds = stageSeconds(cards['h100-80gb'], {
    ...size,
    steps,
    precision: 'bf16',
    offload: 'none',
    attention: defaultAttention,
  }).total;
  return { size, steps, perImageSeconds };
})();

export interface FleetTraceOptions {
  pods: number;
  /** Share of the pods' capacity the trace's images take, e.g. 0.85. */
  load: number;
  /** One image's time on a pod, what `load` is of (default: the card model's). */
  perImageSeconds?: number;
  seconds: number;
  seed: number;
}

/**
 * Requests for 1 to 8 images (multi-image's mix) at Poisson times over about `seconds`, scaled
 * in time so that their images take exactly `load` of `pods` pods at `perImageSeconds` each.
 */
export function fleetTrace(o: FleetTraceOptions): TraceRow[] {
  const { size, steps } = fleetWorkload;
  const perImageSeconds = o.perImageSeconds ?? fleetWorkload.perImageSeconds;
  const meanImages = multiImageCounts.reduce((s, c) => s + c.p * c.n, 0);
  const perPod = 1 / (perImageSeconds * meanImages);
  const raw = generate({
    seconds: o.seconds,
    shape: () => o.load * o.pods,
    perPod,
    seed: o.seed,
    sizes: [{ p: 1, ...size }],
    counts: multiImageCounts,
  });
  // The generator's first gap is long (xoroshiro128+'s first draw from a small seed is ~1): the
  // trace starts at its first request, and its span is set by the images it holds.
  const first = raw[0]?.offsetSeconds ?? 0;
  const last = raw.at(-1)?.offsetSeconds ?? 0;
  const images = raw.reduce((s, r) => s + (r.n ?? 1), 0);
  const span = (images * perImageSeconds) / (o.pods * o.load);
  const scale = last > first ? span / (last - first) : 1;
  return raw.map((r) => ({
    ...r,
    offsetSeconds: Math.round((r.offsetSeconds - first) * scale * 1000) / 1000,
    steps,
  }));
}

export interface ArmResult {
  requests: number;
  images: number;
  /** Images answered 200, and those of them over the bound. */
  served: number;
  late: number;
  /** Nearest rank over the served images (a request of n counts n times), seconds. */
  p50: number;
  p95: number;
  p99: number;
  /** Images refused with 429, by error code. */
  refused: number;
  refusedByCode: Record<string, number>;
  /** Images of any other answer (5xx, 4xx) or of no answer, by status or error. */
  failed: number;
  failedBy: Record<string, number>;
}

const nearestRank = (sorted: readonly number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;

/** Late images, per-image wait percentiles, refusals and failures of one arm. Pure. */
export function armResult(records: readonly LoadRecord[], boundSeconds = 15): ArmResult {
  const waits: number[] = [];
  const out: ArmResult = {
    requests: records.length,
    images: 0,
    served: 0,
    late: 0,
    p50: Number.NaN,
    p95: Number.NaN,
    p99: Number.NaN,
    refused: 0,
    refusedByCode: {},
    failed: 0,
    failedBy: {},
  };
  const add = (m: Record<string, number>, k: string, n: number) => (m[k] = (m[k] ?? 0) + n);
  for (const r of records) {
    const n = r.n ?? 1;
    out.images += n;
    if (r.status === 200 && r.latencyS !== null) {
      out.served += n;
      if (r.latencyS > boundSeconds) out.late += n;
      for (let i = 0; i < n; i++) waits.push(r.latencyS);
    } else if (r.status === 429) {
      out.refused += n;
      add(out.refusedByCode, r.code ?? 'unknown', n);
    } else {
      out.failed += n;
      add(out.failedBy, r.status > 0 ? String(r.status) : (r.error ?? 'no answer'), n);
    }
  }
  waits.sort((a, b) => a - b);
  out.p50 = nearestRank(waits, 50);
  out.p95 = nearestRank(waits, 95);
  out.p99 = nearestRank(waits, 99);
  return out;
}

/** Counters summed over pods: metric name -> label set (JSON) -> value. */
type Scrape = Map<string, number>;

async function scrape(urls: readonly string[], names: readonly string[]): Promise<Scrape> {
  const sum: Scrape = new Map();
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const metrics = parseTextFormat(text);
    for (const name of names)
      for (const s of metrics.get(name) ?? []) {
        const { pod: _pod, ...labels } = s.labels;
        const key = `${name}${JSON.stringify(labels)}`;
        sum.set(key, (sum.get(key) ?? 0) + s.value);
      }
  }
  return sum;
}

const delta = (after: Scrape, before: Scrape, name: string) => {
  const out: Record<string, number> = {};
  for (const [key, v] of after) {
    if (!key.startsWith(`${name}{`)) continue;
    const d = v - (before.get(key) ?? 0);
    if (d > 0) out[key.slice(name.length)] = d;
  }
  return out;
};
const total = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);

const busyMetric = 'zimage_generation_busy_seconds_total';
const podCounters = [
  busyMetric,
  runtimeMetrics.images,
  `${runtimeMetrics.generationDuration}_sum`,
  `${runtimeMetrics.generationDuration}_count`,
];
const routerCounters = [routerMetrics.refusals, routerMetrics.retries];

export interface ArmRun extends ArmResult {
  arm: 'router' | 'service';
  repeat: number;
  /** First send to last answer, s. */
  seconds: number;
  /** The pods' engine time over the arm, as a share of 3 pods x seconds. */
  utilization: number;
  /** Engine seconds per image on the pods (their histogram's mean over the arm). */
  secondsPerImage: number;
  /** Requests per backend the load generator picked (routers or pods). */
  spread: Record<string, number>;
  /** Router arm: its refusals and retries by reason. */
  routerRefusals?: Record<string, number>;
  routerRetries?: Record<string, number>;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export interface RouterFleetOptions {
  repeats: number;
  /** Share of the pods' measured capacity (default 0.85). */
  load?: number;
  /** Seconds of trace generated per arm before scaling (default 200; ~150-170 s after). */
  seconds?: number;
}

const pods = 3;
const namespace = 'bench';
const name = 'rf';
const services = { router: name, service: `${name}-pods` } as const;

/** POST one request of n images at the workload's size and steps; throws unless 200. */
async function generateAt(url: string, n: number, prompt: string): Promise<void> {
  const { size, steps } = fleetWorkload;
  const res = await fetch(`${url}/v1/images/generations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, size: `${size.width}x${size.height}`, steps, n }),
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${prompt} at ${url}: ${res.status}`);
}

/** The fleet, the operator and the ZImageDeployment, up with 3 Ready pods and 2 routers. */
async function startFleet() {
  const cluster = await startCluster({
    name: `bench-rfleet-${process.pid}`,
    nodePools: [...benchNodePools],
    fleet: {},
  });
  let operator: OperatorProcess | undefined;
  try {
    installOperatorManifests(cluster.kubeconfigPath);
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await createModelVolume(cluster.kubeConfig, { namespace, name: 'zimage-models' });
    operator = await startOperator(await operatorKubeconfig(cluster.kubeconfigPath));
    const base = fleetSpec(pods);
    await zidClient(cluster.kubeConfig).create(namespace, name, {
      ...base,
      runtime: { ...base.runtime, steps: fleetWorkload.steps, maxImagesPerRequest: 8 },
      autoscaling: { mode: 'Off' },
      router: { enabled: true },
    });
    const backendsOf = (svc: string) => serviceBackends(core, namespace, svc);
    const podUrls = await eventually(
      `${pods} Ready runtime pods and 2 Ready routers`,
      async () => {
        const [p, r] = [await backendsOf(services.service), await backendsOf(services.router)];
        return p.length === pods && r.length === 2 ? p.map((b) => b.url) : undefined;
      },
      240_000,
    );
    const routerSelector = Object.entries(routerSelectorLabels(name))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const routerUrls = async () =>
      (await core.listNamespacedPod({ namespace, labelSelector: routerSelector })).items
        .filter((p: V1Pod) => !p.metadata?.deletionTimestamp)
        .map((p) => `http://${p.status?.podIP}:8080`);
    return { cluster, operator, backendsOf, podUrls, routerUrls };
  } catch (err) {
    await operator?.stop();
    await cluster.stop();
    throw err;
  }
}
type Fleet = Awaited<ReturnType<typeof startFleet>>;

/**
 * Each router learns the pods' rate for this size from a few answers; then what an image takes
 * on these pods now, all three busy at once (4 images each, sent to the pods directly).
 */
async function warmUpAndCalibrate(fleet: Fleet): Promise<number> {
  for (const router of await fleet.backendsOf(services.router))
    await generateAt(router.url, pods, 'warm-up');
  const before = await scrape(fleet.podUrls, podCounters);
  await Promise.all(fleet.podUrls.map((url) => generateAt(url, 4, 'calibration')));
  const after = await scrape(fleet.podUrls, podCounters);
  const d = `${runtimeMetrics.generationDuration}`;
  return total(delta(after, before, `${d}_sum`)) / total(delta(after, before, `${d}_count`));
}

/** One arm: the trace through one Service, and what the pods and the routers counted. */
async function runArm(
  fleet: Fleet,
  arm: ArmRun['arm'],
  repeat: number,
  rows: TraceRow[],
  recordPath: string,
): Promise<ArmRun> {
  const records: LoadRecord[] = [];
  const routerUrls = arm === 'router' ? await fleet.routerUrls() : [];
  const [before, routerBefore] = [
    await scrape(fleet.podUrls, podCounters),
    await scrape(routerUrls, routerCounters),
  ];
  const summary = await runLoad({
    service: `${namespace}/${services[arm]}`,
    backends: () => fleet.backendsOf(services[arm]),
    schedule: { kind: 'trace', rows },
    request: { seed: 1_000 * repeat },
    maxRequests: rows.length,
    maxDurationSeconds: Math.ceil(rows.at(-1)!.offsetSeconds) + 300,
    requestTimeoutSeconds: 240,
    onRecord: (r) => records.push(r),
    recordPath,
    progressIntervalMs: 30_000,
    onProgress: (p, final) => {
      if (!final)
        console.log(
          `  ${arm} ${repeat}: ${p.elapsedS.toFixed(0)} s, ${p.sent}/${p.total} sent, ${p.inFlight} in flight`,
        );
    },
  });
  const [after, routerAfter] = [
    await scrape(fleet.podUrls, podCounters),
    await scrape(routerUrls, routerCounters),
  ];
  const d = (name: string) => total(delta(after, before, name));
  const genCount = d(`${runtimeMetrics.generationDuration}_count`);
  const spread: Record<string, number> = {};
  for (const r of records) if (r.backend) spread[r.backend] = (spread[r.backend] ?? 0) + 1;
  return {
    arm,
    repeat,
    ...armResult(records),
    seconds: summary.durationSeconds,
    utilization: d(busyMetric) / (pods * summary.durationSeconds),
    secondsPerImage: d(`${runtimeMetrics.generationDuration}_sum`) / genCount,
    spread,
    ...(arm === 'router'
      ? {
          routerRefusals: delta(routerAfter, routerBefore, routerMetrics.refusals),
          routerRetries: delta(routerAfter, routerBefore, routerMetrics.retries),
        }
      : {}),
  };
}

export async function benchRouterFleet(options: RouterFleetOptions): Promise<Row[]> {
  const load = options.load ?? 0.85;
  const seconds = options.seconds ?? 200;
  const fleet = await startFleet();
  const runs: ArmRun[] = [];
  const out = path.join(import.meta.dirname, 'results');
  fs.mkdirSync(out, { recursive: true });
  let perImageSeconds: number;
  try {
    const measured = await warmUpAndCalibrate(fleet);
    perImageSeconds = Math.max(fleetWorkload.perImageSeconds, measured);
    console.log(
      `  calibration: ${measured.toFixed(3)} s an image (card model ${fleetWorkload.perImageSeconds.toFixed(3)} s); traces at ${load} of ${pods} pods at ${perImageSeconds.toFixed(3)} s`,
    );
    for (let repeat = 1; repeat <= options.repeats; repeat++) {
      const rows = fleetTrace({ pods, load, seconds, seed: repeat, perImageSeconds });
      fs.writeFileSync(path.join(out, `router-fleet-trace-${repeat}.csv`), formatTrace(rows));
      // Alternate which arm goes first: the host's other load drifts.
      const order =
        repeat % 2 === 1 ? (['router', 'service'] as const) : (['service', 'router'] as const);
      for (const arm of order) {
        const records = path.join(out, `router-fleet-${arm}-${repeat}.ndjson`);
        const run = await runArm(fleet, arm, repeat, rows, records);
        runs.push(run);
        console.log(`  ${arm} ${repeat}: ${JSON.stringify(run)}`);
        // The run waited for every answer; a pause before the next.
        await sleep(5_000);
      }
    }
    fs.writeFileSync(path.join(out, 'router-fleet-runs.json'), JSON.stringify(runs, null, 2));
  } finally {
    await fleet.operator.stop();
    await fleet.cluster.stop();
  }
  console.log(`\n${formatRuns(runs, { pods, load, perImageSeconds })}\n`);
  return summaryRows(runs);
}

const s = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} s` : '-');
const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const codes = (m: Record<string, number> | undefined) =>
  Object.entries(m ?? {})
    .map(([k, v]) => `${k.replace(/[{}"]/g, '')} ${v}`)
    .join(', ') || '-';

/** The Markdown table of every arm run, for docs/performance.md. */
export function formatRuns(
  runs: readonly ArmRun[],
  o: { pods: number; load: number; perImageSeconds: number },
): string {
  const header = [
    `${o.pods} pods, traces at ${pct(o.load)} of their capacity: ${o.perImageSeconds.toFixed(2)} s an image as measured (card model ${fleetWorkload.perImageSeconds.toFixed(2)} s)`,
    '',
    '| arm | repeat | requests / images | late images (> 15 s) | p95 / p99 wait | refused (429) images | failed images | pod utilization | s per image | spread (requests per backend) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const lines = runs.map(
    (r) =>
      `| ${r.arm === 'router' ? 'router (Service `<name>`)' : 'random pods (Service `<name>-pods`)'} | ${r.repeat} | ${r.requests} / ${r.images} | ${r.late} (${pct(r.late / r.images)}) | ${s(r.p95)} / ${s(r.p99)} | ${r.refused}${r.refused ? ` (${codes(r.refusedByCode)})` : ''} | ${r.failed}${r.failed ? ` (${codes(r.failedBy)})` : ''} | ${pct(r.utilization)} | ${r.secondsPerImage.toFixed(2)} | ${Object.values(
        r.spread,
      )
        .sort((a, b) => b - a)
        .join(' / ')} |`,
  );
  return [...header, ...lines].join('\n');
}

function summaryRows(runs: readonly ArmRun[]): Row[] {
  const of = (arm: ArmRun['arm']) => runs.filter((r) => r.arm === arm);
  const [router, service] = [of('router'), of('service')];
  const med = (xs: readonly ArmRun[], f: (r: ArmRun) => number) => median(xs.map(f));
  const lateRouter = med(router, (r) => r.late);
  const lateService = med(service, (r) => r.late);
  const arm = (what: string, xs: readonly ArmRun[]): Row => ({
    name: `router on the live fleet: ${what}, median of ${xs.length}`,
    value: `${med(xs, (r) => r.late)} late images (> 15 s), p95 ${s(med(xs, (r) => r.p95))}, p99 ${s(med(xs, (r) => r.p99))}`,
    detail: `refused (429) images ${med(xs, (r) => r.refused)}, failed ${med(xs, (r) => r.failed)}, of ${med(xs, (r) => r.images)} images; per run late ${xs.map((r) => r.late).join(', ')}`,
  });
  return [
    arm('through the router (Service <name>)', router),
    arm('random pods (Service <name>-pods)', service),
    {
      name: 'router on the live fleet: late images, Service / router',
      value: lateRouter > 0 ? `${(lateService / lateRouter).toFixed(1)}x` : `${lateService} / 0`,
      detail: `goal >= 4x; medians ${lateService} / ${lateRouter}`,
    },
  ];
}
