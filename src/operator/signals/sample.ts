/**
 * What a signal source hands the autoscaler: per ZImageDeployment (key `namespace/name`), each
 * signal as a value or as a reason it is missing, never a zero standing in for "no data"
 * (keda#3065, knative/serving#8610: an empty result read as zero load scaled fleets down during
 * outages). Pure types and helpers: the policy may import this file, not the sources.
 */
import { demandRule } from '../api/v1alpha1/default-rules.ts';
import { durationSeconds } from '../api/v1alpha1/schema-kit.ts';
import { sourceSignals, type SourceSignal } from '../api/v1alpha1/signals.ts';

/** Every signal a source reports (the names: api/v1alpha1/signals.ts). */
export type SignalName = SourceSignal;

/** Why a signal has no value. One list: readings, conditions, Events and metrics share it. */
export const missingReasons = {
  /** The source answered; nothing for this object (no series, or none of its pods in them). */
  NoData: 'NoData',
  /** The value was NaN (e.g. a 0/0 ratio). */
  NotANumber: 'NotANumber',
  /** The value was +Inf or -Inf. */
  Infinite: 'Infinite',
  /** No image finished in the latency window: nothing is slow, and nothing says it is fast. */
  NoObservations: 'NoObservations',
  /** Only one scrape so far: a latency needs two to take bucket deltas. */
  WindowNotFilled: 'WindowNotFilled',
  /** Every pod (or GPU exporter) behind the value failed its last scrape or is down. */
  Stale: 'Stale',
  /** The source itself failed (refused, timed out, HTTP error, a body that is not its API). */
  SourceDown: 'SourceDown',
  /** dcgm-exporter series carry no usable pod/namespace labels (or only exported_pod ones). */
  MissingPodLabel: 'MissingPodLabel',
  /** No dcgm-exporter pod runs on the node of the object's pods. */
  ExporterNotFound: 'ExporterNotFound',
  /** The object has no running pod with an IP to read from. */
  NoPods: 'NoPods',
  /** Prometheus scrapes none of the object's pods (ServiceMonitor not selected?). */
  NoTargets: 'NoTargets',
  /** The object names no source of this kind (e.g. no spec.autoscaling.metrics.prometheus). */
  NotConfigured: 'NotConfigured',
} as const;
export type MissingReason = (typeof missingReasons)[keyof typeof missingReasons];

/** A value, and what it rests on. */
export interface Present {
  ok: true;
  value: number;
  /**
   * Seconds between two updates of the data under the value: the scrape interval, or
   * dcgm-exporter's collection interval when that is longer (30 s by default): a rule whose
   * `for` is shorter than this sees a single sample per window.
   */
  intervalSeconds: number;
  /** Seconds the value aggregates over (a rate or bucket-delta window); absent for gauges. */
  windowSeconds?: number;
  /** Epoch ms of the data (the scrape, or the Prometheus evaluation). */
  at: number;
  /** Something a human should know (e.g. "1 of 3 pods stale: value from the other 2"). */
  note?: string;
}

export interface Missing {
  ok: false;
  reason: MissingReason;
  /** Names the object, the source and what to change. */
  message: string;
}

export type Reading = Present | Missing;

export type KeySignals = Record<SignalName, Reading>;

export const sourceKinds = ['prometheus', 'direct'] as const;
export type SourceKind = (typeof sourceKinds)[number];

export interface SignalSample {
  source: SourceKind;
  /** Epoch ms the sample was started (the `now` passed in). */
  at: number;
  /** One entry per requested target key, in request order. */
  byKey: Map<string, KeySignals>;
  /** Queries (Prometheus) or scrapes (direct) this sample made. */
  requests: number;
}

/** One running pod of an object, as the reconciler knows it from Kubernetes. */
export interface PodRef {
  namespace: string;
  name: string;
  /** status.podIP; absent while the pod has none. */
  ip?: string;
  /** The runtime container's HTTP port (the port named runtimePortName). */
  port?: number;
  /** spec.nodeName, to find the dcgm-exporter of its node. */
  nodeName?: string;
}

/** One ZImageDeployment to sample. */
export interface SignalTarget {
  namespace: string;
  name: string;
  /** spec.autoscaling.metrics.prometheus.url, for the Prometheus source. */
  prometheusUrl?: string;
  /** Its running pods (the direct source scrapes them; Prometheus tells pods from targets). */
  pods: readonly PodRef[];
  /**
   * Its Ready routers while spec.router.enabled (possibly none yet), absent while off: the
   * direct source reads the client's wait from them, else from the pods.
   */
  routers?: readonly PodRef[];
  /**
   * The windows its toDemand rule reads arrived work over (the direct source; Prometheus
   * reads its own fixed ones). Default: defaultDemandWindows.
   */
  demandWindows?: DemandWindows;
}

/** A toDemand rule's windows, seconds. */
export interface DemandWindows {
  stableSeconds: number;
  panicSeconds: number;
}

/** The default demand rule's (default-rules.ts): why those, docs/autoscaler.md. */
export const defaultDemandWindows: DemandWindows = (() => {
  const w = demandRule.action.scale!.toDemand!;
  return {
    stableSeconds: durationSeconds(w.stableWindow),
    panicSeconds: durationSeconds(w.panicWindow),
  };
})();

export interface SignalSource {
  readonly kind: SourceKind;
  /** Never rejects: every failure becomes a missing reason on the keys it concerns. */
  sample(targets: readonly SignalTarget[], now: number): Promise<SignalSample>;
}

export function missing(reason: MissingReason, message: string): Missing {
  return { ok: false, reason, message };
}

/** One reading for each of `names` (e.g. every GPU signal missing for the same reason). */
export function eachOf<K extends string>(
  names: readonly K[],
  reading: Reading,
): Record<K, Reading> {
  const out = {} as Record<K, Reading>;
  for (const name of names) out[name] = reading;
  return out;
}

/** The same missing reason for every signal (a source down, an object without pods). */
export function allMissing(reason: MissingReason, message: string): KeySignals {
  return eachOf(sourceSignals, missing(reason, message));
}

/** A number read from a source: NaN and infinities become missing, never a value. */
export function fromNumber(
  value: number,
  base: Omit<Present, 'ok' | 'value'>,
  what: string,
): Reading {
  if (Number.isNaN(value)) return missing('NotANumber', `${what} is NaN`);
  if (!Number.isFinite(value)) return missing('Infinite', `${what} is ${value > 0 ? '+' : '-'}Inf`);
  return { ok: true, value, ...base };
}
