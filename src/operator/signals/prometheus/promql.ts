/**
 * PromQL for each autoscaling signal, written once. The PrometheusRule's alerts read a signal
 * through these expressions, and so will the Prometheus signal source (issue 10): the alert an
 * SRE sees and the value the operator decides on are the same query.
 *
 * Here and not in src/contract: the runtime exposes names (contract/metrics.ts) but never reads
 * PromQL; only the operator does. Pure string building, no client: the policy never imports it.
 *
 * Every expression returns one series per ZImageDeployment, labelled {namespace,
 * zimage_deployment}, so one query covers one object (alerts) or all of them (a batched tick:
 * a fixed number of queries, whatever the number of objects).
 */
import {
  dcgmMetrics,
  routerMetrics,
  runtimeMetrics,
  seriesLabels,
} from '../../../contract/metrics.ts';
import type { SourcedRuleSignal } from '../../api/v1alpha1/signals.ts';
import { durationSeconds } from '../../api/v1alpha1/schema-kit.ts';

/** The rule signals a source reads (demandUtilization is worked out by the policy). */
export type Signal = SourcedRuleSignal;

/** One ZImageDeployment, or every one at once. */
export type Scope = { namespace: string; name: string } | 'all';

/** Labels of every signal series. */
export const signalLabels = [seriesLabels.namespace, seriesLabels.deployment] as const;

/**
 * Window of the latency rate: 12 samples at the ServiceMonitor's 5 s interval, twice the
 * slow-generation rule's 30 s `for`, so a p95 never rests on a single scrape.
 */
export const latencyRateWindow = '1m';

/**
 * Window of the arrival rate: 6 samples at the ServiceMonitor's 5 s interval. Shorter than the
 * latency's: arrivals are counted exactly (no quantile to estimate), and a burst should show
 * within half a minute; the direct source reads it each tick.
 */
export const arrivalRateWindow = '30s';

/**
 * Windows of the arrived-work rates (a toDemand rule's stable and panic windows): fixed here,
 * as every query serves every object; 1 m is the default stable window, 20 s the shortest
 * that holds 4 samples at the ServiceMonitor's 5 s (the default panic window, 10 s, needs the
 * direct source). A rule's own windows apply with the direct source.
 */
export const demandRateWindows = { stable: '1m', panic: '20s' } as const;

const { namespace, pod, deployment } = seriesLabels;
const bySignal = signalLabels.join(', ');

/** A PromQL string literal (Go escapes; JSON's are a subset). */
export function promString(value: string): string {
  return JSON.stringify(value);
}

/** Matchers for the runtime's series (and `up`) of the scope. */
export function runtimeMatchers(scope: Scope): string {
  return scope === 'all'
    ? `${deployment}!=""`
    : `${namespace}=${promString(scope.namespace)}, ${deployment}=${promString(scope.name)}`;
}

/**
 * dcgm-exporter series carry only the GPU holder's pod and namespace. They get the instance
 * label from the runtime's own targets: `up` exists for every runtime pod Prometheus scrapes,
 * from its first scrape on (while the model loads and VRAM fills, and when /metrics fails), and
 * `group` makes its value 1, so the join keeps dcgm's value. Needs no kube-state-metrics.
 * E.g. GPU_UTIL{pod="turbo-7d9-abc"} 95 * on(namespace, pod) group_left(zimage_deployment)
 * {pod="turbo-7d9-abc", zimage_deployment="turbo"} 1 = {..., zimage_deployment="turbo"} 95;
 * turbo-canary's pods carry zimage_deployment="turbo-canary" and never join turbo.
 */
function onInstancePods(dcgmExpr: string, scope: Scope): string {
  const pods = `group by (${namespace}, ${pod}, ${deployment}) (up{${runtimeMatchers(scope)}})`;
  return `(${dcgmExpr}) * on(${namespace}, ${pod}) group_left(${deployment}) ${pods}`;
}

function dcgm(metric: string, scope: Scope): string {
  const matchers = scope === 'all' ? `${pod}!=""` : `${namespace}=${promString(scope.namespace)}`;
  return `${metric}{${matchers}}`;
}

/**
 * Percent per GPU: DCGM_FI_DEV_GPU_UTIL, or the profiling metric GR_ENGINE_ACTIVE (ratio) x 100
 * where a GPU has no GPU_UTIL (MIG slices report none). `or` matches label sets without the
 * metric name, so a GPU with both keeps GPU_UTIL.
 */
function gpuPercent(scope: Scope): string {
  return `${dcgm(dcgmMetrics.gpuUtil, scope)} or (${dcgm(dcgmMetrics.grEngineActive, scope)} * 100)`;
}

const mib = 1024 * 1024;

/** A gauge summed over the object's pods (runtime or router: the metric names tell them apart). */
const summed = (metric: string) => (scope: Scope) =>
  `sum by (${bySignal}) (${metric}{${runtimeMatchers(scope)}})`;

const queries: Record<Signal, (scope: Scope) => string> = {
  // Mean over the object's GPUs, percent 0..100.
  gpuUtilization: (scope) => `avg by (${bySignal}) (${onInstancePods(gpuPercent(scope), scope)})`,
  // The fullest card, 0..1 of its own memory (used + free, both MiB, so units cancel): a
  // ratio scales with the card (14 of 16 GiB, 70 of 80 GiB) and a batched query needs no
  // per-object memoryGiB.
  vramUsedRatio: (scope) => {
    const used = dcgm(dcgmMetrics.fbUsed, scope);
    const free = dcgm(dcgmMetrics.fbFree, scope);
    return `max by (${bySignal}) (${onInstancePods(`${used} / (${used} + ${free})`, scope)})`;
  },
  // No image in the window: rate 0, quantile NaN, every comparison false: no data is not slow.
  latencyP95Seconds: (scope) => p95(runtimeMetrics.generationDuration, scope),
  // The client's wait per image: the routers' histogram (router queue + pod + generation)
  // where the object has routers; else what a direct client waits, the pods' request duration
  // (queue + generation). `or` keeps the routers' series wherever they exist, NaN included
  // (no image in the window is not slow).
  // Parenthesized: `or` binds looser than the alert's comparison.
  waitP95Seconds: (scope) =>
    `(${p95(routerMetrics.wait, scope)} or ${p95(runtimeMetrics.requestDuration, scope)})`,
  queueDepth: summed(runtimeMetrics.queueDepth),
};

function p95(histogram: string, scope: Scope): string {
  return `histogram_quantile(0.95, sum by (${bySignal}, le) (rate(${histogram}_bucket{${runtimeMatchers(scope)}}[${latencyRateWindow}])))`;
}

/** The PromQL of a signal for a scope. */
export function signalQuery(signal: Signal, scope: Scope): string {
  return queries[signal](scope);
}

/** What the signal sources report beyond the rules' signals (no alert reads these). */
export type ObservedSignal =
  | 'inflight'
  | 'vramUsedBytes'
  | 'vramTotalBytes'
  | 'routerQueuedImages'
  | 'routerQueuedWorkSeconds'
  | 'arrivedImagesPerSecond'
  | 'arrivedWorkPerSecond'
  | 'burstWorkPerSecond';

const workRate = (scope: Scope, window: string) =>
  `sum by (${bySignal}) (rate(${routerMetrics.arrivedWork}{${runtimeMatchers(scope)}}[${window}]))`;

const observed: Record<ObservedSignal, (scope: Scope) => string> = {
  inflight: summed(runtimeMetrics.inflight),
  routerQueuedImages: summed(routerMetrics.queuedImages),
  routerQueuedWorkSeconds: summed(routerMetrics.queuedWork),
  arrivedImagesPerSecond: (scope) =>
    `sum by (${bySignal}) (rate(${routerMetrics.arrivedImages}{${runtimeMatchers(scope)}}[${arrivalRateWindow}]))`,
  arrivedWorkPerSecond: (scope) => workRate(scope, demandRateWindows.stable),
  burstWorkPerSecond: (scope) => workRate(scope, demandRateWindows.panic),
  // dcgm reports MiB. The largest card's used and total, each a max over the object's GPUs:
  // its pods share one GPU pool, so that is the fullest card vramUsedRatio names; with mixed
  // cards the two maxima may come from two cards (the ratio, which rules read, stays exact).
  vramUsedBytes: (scope) =>
    `max by (${bySignal}) (${onInstancePods(dcgm(dcgmMetrics.fbUsed, scope), scope)}) * ${mib}`,
  vramTotalBytes: (scope) => {
    const used = dcgm(dcgmMetrics.fbUsed, scope);
    const free = dcgm(dcgmMetrics.fbFree, scope);
    return `max by (${bySignal}) (${onInstancePods(`${used} + ${free}`, scope)}) * ${mib}`;
  },
};

/** The PromQL of an observed-only signal for a scope. */
export function observedQuery(signal: ObservedSignal, scope: Scope): string {
  return observed[signal](scope);
}

/**
 * Every runtime target Prometheus has, one series per pod (1 up, 0 down): tells "Prometheus
 * scrapes no pod of this object" (no ServiceMonitor selected) and "its pods are down" from
 * "no data", which the aggregated signal queries cannot.
 */
export function targetsQuery(scope: Scope): string {
  return `up{${runtimeMatchers(scope)}}`;
}

/**
 * GPUs per object that dcgm-exporter attributes to its pods only under exported_pod and
 * exported_namespace: the labels a Prometheus scrape without honorLabels renames, while `pod`
 * names the exporter itself (dcgm-exporter#188). Non-empty means the signal queries above miss
 * those GPUs: the fix is honorLabels: true on dcgm-exporter's ServiceMonitor.
 */
export function renamedDcgmQuery(scope: Scope): string {
  const own = scope === 'all' ? '' : `, exported_${namespace}=${promString(scope.namespace)}`;
  const renamed = `${dcgmMetrics.fbUsed}{exported_${pod}!=""${own}}`;
  const asPod = `label_replace(${renamed}, "${pod}", "$1", "exported_${pod}", "(.+)")`;
  const asNamespace = `label_replace(${asPod}, "${namespace}", "$1", "exported_${namespace}", "(.+)")`;
  return `count by (${bySignal}) (${onInstancePods(asNamespace, scope)})`;
}

/**
 * A spec duration (Go style: 1.5s, 30s1m) as Prometheus writes one: integer units, largest
 * first (1s500ms, 1m30s), which is all Prometheus parses.
 */
export function promDuration(duration: string): string {
  let ms = Math.round(durationSeconds(duration) * 1000);
  if (ms === 0) return '0s';
  let out = '';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(ms / size);
    if (n > 0) out += `${n}${unit}`;
    ms -= n * size;
  }
  return out;
}
