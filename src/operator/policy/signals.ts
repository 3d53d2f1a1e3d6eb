/**
 * What decide() sees of the world: one reading per signal, each a value or a reason why there
 * is none (the very Reading the signal sources produce, signals/sample.ts), plus the fleet as
 * Kubernetes reports it. The policy never learns where a value came from, only how often it is
 * sampled (a 5 s window over a 30 s sampling holds at most one sample).
 *
 * "No data" is a reading of its own, never zero: an empty query read as 0% utilization is how
 * KEDA (keda#3065) and Knative (serving#8610) scaled fleets down during outages.
 */
import type { PolicySignal } from '../api/v1alpha1/signals.ts';
import { missing, missingReasons, type MissingReason, type Reading } from '../signals/sample.ts';

export { missing, missingReasons, type MissingReason, type Reading };

export interface Fleet {
  /** spec.replicas as the scale subresource reads now (a `kubectl scale` shows here). */
  replicas: number;
  /** Pods Ready (serving). */
  readyReplicas: number;
}

/**
 * One reading per signal decide() reads (api/v1alpha1/signals.ts's policySignals).
 * gpuUtilization is the mean over the Ready pods (percent), vramUsedRatio the fullest card's
 * used/total, latencyP95Seconds the engine time per image (no queueing), waitP95Seconds the
 * client's wait per image (router queue + pod queue + generation; the pods' request duration
 * without a router), queueDepth and inflight the sums over the pods, the router signals the
 * sums over the routers: all as the sources report them. pendingPods comes from
 * Kubernetes: pods unschedulable for lack of GPUs (not those waiting for a terminating pod's
 * GPU in a roll).
 */
export type Signals = { [K in PolicySignal]: Reading } & { fleet: Fleet };

/** The value of a reading, or undefined when it has none. */
export function valueOf(reading: Reading): number | undefined {
  return reading.ok ? reading.value : undefined;
}

/**
 * Latency readings that say "no image to judge" rather than "cannot see": a p95 of no images
 * (or of a window not yet filled) is not slow, so a latency rule reads it as "not breached",
 * as the PrometheusRule does (the quantile is NaN and every comparison false), and
 * MetricsAvailable stays True.
 */
const notAnOutage: ReadonlySet<MissingReason> = new Set([
  missingReasons.NoObservations,
  missingReasons.WindowNotFilled,
]);

/** A missing reading that means "the source cannot tell", as opposed to "nothing happened". */
export function isOutage(reading: Reading): reading is Extract<Reading, { ok: false }> {
  return !reading.ok && !notAnOutage.has(reading.reason);
}
