/**
 * What decide() sees of the world: one reading per signal, each a value or a reason why there
 * is none, plus the fleet as Kubernetes reports it. Signal sources (Prometheus, direct scrapes,
 * Kubernetes) build this; the policy never learns where a value came from, only how often it
 * is sampled (a 5 s window over a 30 s sampling holds at most one sample).
 *
 * "No data" is a reading of its own, never zero: an empty query read as 0% utilization is how
 * KEDA (keda#3065) and Knative (serving#8610) scaled fleets down during outages.
 */

/**
 * Signals decide() reads. The first four are the ones a rule can name (autoscaling.ts).
 * gpuUtilization is the mean over the Ready pods (percent), vramUsedRatio the fullest card's
 * used/total, latencyP95Seconds the engine time per image (no queueing), queueDepth and
 * inflight the sums over the pods, pendingPods those unschedulable for lack of GPUs (not
 * those waiting for a terminating pod's GPU in a roll).
 */
export const signalNames = [
  'gpuUtilization',
  'vramUsedRatio',
  'latencyP95Seconds',
  'queueDepth',
  'vramUsedBytes',
  'inflight',
  'pendingPods',
] as const;
export type SignalName = (typeof signalNames)[number];

/** Why a reading has no value. Sources pick one; status, Events and metrics show it as is. */
export const missingReasons = {
  /** The source failed: HTTP error, timeout, refused connection. */
  SourceDown: 'SourceDown',
  /** The query returned no series for this object. */
  NoSeries: 'NoSeries',
  /** The value was NaN or +-Inf. */
  NotANumber: 'NotANumber',
  /** The newest sample is older than the source allows. */
  Stale: 'Stale',
  /** Series without pod/namespace labels (dcgm-exporter not mapping GPUs to pods). */
  MissingLabels: 'MissingLabels',
  /** Several series where one was expected. */
  SeveralSeries: 'SeveralSeries',
  /**
   * A latency over a window in which no image finished. Not an outage: a p95 of no images is
   * not slow, so a latency rule reads it as "not breached" (as the PrometheusRule does, where
   * the quantile is NaN and every comparison false) and MetricsAvailable stays True.
   */
  NoImages: 'NoImages',
} as const;
export type MissingReason = (typeof missingReasons)[keyof typeof missingReasons];

export type Reading =
  | {
      value: number;
      /** Seconds between two samples of this signal, end to end (exporter and scrape). */
      everySeconds: number;
    }
  | { missing: MissingReason; detail?: string; everySeconds?: number };

export interface Fleet {
  /** spec.replicas as the scale subresource reads now (a `kubectl scale` shows here). */
  replicas: number;
  /** Pods Ready (serving). */
  readyReplicas: number;
}

export type Signals = { [K in SignalName]: Reading } & { fleet: Fleet };

/** The value of a reading, or undefined when it has none. */
export function valueOf(reading: Reading): number | undefined {
  return 'value' in reading ? reading.value : undefined;
}

/** A missing reading that means "the source cannot tell", as opposed to "nothing happened". */
export function isOutage(reading: Reading): reading is Extract<Reading, { missing: string }> {
  return 'missing' in reading && reading.missing !== missingReasons.NoImages;
}
