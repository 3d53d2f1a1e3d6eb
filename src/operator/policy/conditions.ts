/**
 * The autoscaler's conditions: MetricsAvailable (can it see?), ScalingLimited (can replicas
 * help?) and SamplingSufficient (can each rule's window see enough samples?).
 */
import { policySignals, type PolicySignal } from '../api/v1alpha1/signals.ts';
import type { ConditionInput } from '../api/v1alpha1/status.ts';
import { demandInputs } from './demand.ts';
import { policyReasons, type PolicyReason } from './reasons.ts';
import { isOutage, type Signals } from './signals.ts';
import type { PolicySpec } from './spec.ts';

/** A condition the policy computes: its reason is one of the policy's own. */
export type PolicyCondition = ConditionInput<PolicyReason>;

/** Signals a decision cannot do without: every rule's, the queue (scale-in) and Pending pods. */
export function requiredSignals(spec: PolicySpec): PolicySignal[] {
  const needed = new Set<PolicySignal>(['queueDepth', 'pendingPods']);
  for (const r of spec.rules) {
    const signal = r.rule.signal;
    if (signal === 'demandUtilization') for (const s of demandInputs) needed.add(s);
    else needed.add(signal);
  }
  return policySignals.filter((s) => needed.has(s));
}

export interface Outage {
  signal: PolicySignal;
  reason: (typeof policyReasons)[keyof typeof policyReasons];
  detail: string;
}

export function outages(signals: Signals, spec: PolicySpec): Outage[] {
  return requiredSignals(spec).flatMap((signal) => {
    const reading = signals[signal];
    if (!isOutage(reading)) return [];
    return [{ signal, reason: reading.reason, detail: reading.message }];
  });
}

export function metricsCondition(found: readonly Outage[]): PolicyCondition {
  const first = found[0];
  if (!first)
    return {
      type: 'MetricsAvailable',
      status: 'True',
      reason: policyReasons.SignalsAvailable,
      message: 'every signal the rules read has a value',
    };
  const list = found
    .map((o) => `${o.signal}: ${o.reason}${o.detail ? ` (${o.detail})` : ''}`)
    .join('; ');
  return {
    type: 'MetricsAvailable',
    status: 'False',
    reason: first.reason,
    message: `${list}. Holding: no scale-in and no quality change until the signals return; missing data is never read as zero load`,
  };
}

export function limitedCondition(
  target: number,
  pending: number,
  spec: PolicySpec,
  quality: string,
): PolicyCondition {
  if (target >= spec.maxReplicas)
    return {
      type: 'ScalingLimited',
      status: 'True',
      reason: policyReasons.AtMaxReplicas,
      message: `at maxReplicas ${spec.maxReplicas}: load is met by the quality ladder (${quality})`,
    };
  if (pending > 0)
    return {
      type: 'ScalingLimited',
      status: 'True',
      reason: policyReasons.PodsPending,
      message: `${pending} pod(s) Pending for lack of GPUs: more replicas cannot help now (${quality})`,
    };
  return {
    type: 'ScalingLimited',
    status: 'False',
    reason: policyReasons.WithinBounds,
    message: `${target} replicas within ${spec.minReplicas}..${spec.maxReplicas}`,
  };
}

/** Where each signal's sampling interval is set: what to change, named in the message. */
const samplingKnob: Record<string, string> = {
  gpuUtilization:
    'scrape dcgm-exporter directly (spec.autoscaling.metrics.direct: true) with DCGM_EXPORTER_INTERVAL=1000 (ms; its default is 30000)',
  vramUsedRatio:
    'scrape dcgm-exporter directly (spec.autoscaling.metrics.direct: true) with DCGM_EXPORTER_INTERVAL=1000 (ms; its default is 30000)',
  latencyP95Seconds:
    'scrape the runtime pods directly (spec.autoscaling.metrics.direct: true) or lower the ServiceMonitor interval',
  waitP95Seconds:
    'scrape the routers and runtime pods directly (spec.autoscaling.metrics.direct: true) or lower the ServiceMonitor interval',
  queueDepth:
    'scrape the runtime pods directly (spec.autoscaling.metrics.direct: true) or lower the ServiceMonitor interval',
};

/**
 * A window shorter than the sampling interval holds at most one sample: the seed's "util >
 * 90% for 5 s" against dcgm-exporter's 30 s default collection fires on one stale sample,
 * about a minute late. A 0 s window has nothing to cover.
 */
export function samplingCondition(signals: Signals, spec: PolicySpec): PolicyCondition {
  const short = spec.rules.flatMap((r) => {
    const signal = r.rule.signal;
    // Demand is worked out each decision from the routers' rates over its own windows.
    if (signal === 'demandUtilization') return [];
    const reading = signals[signal];
    // A missing reading tells nothing of its sampling; MetricsAvailable says it is missing.
    const every = reading.ok ? reading.intervalSeconds : undefined;
    if (every === undefined || r.forSeconds === 0 || r.forSeconds >= every) return [];
    const fix = samplingKnob[r.rule.signal] ?? 'sample it more often';
    return [
      `rule ${r.name}: for ${r.rule.for} but ${r.rule.signal} is sampled every ${every}s; ${fix}, to sample at least every ${r.forSeconds / 5}s, or set for to at least ${every}s`,
    ];
  });
  if (short.length === 0)
    return {
      type: 'SamplingSufficient',
      status: 'True',
      reason: policyReasons.WindowsCovered,
      message: 'every rule window is at least its signal’s sampling interval',
    };
  return {
    type: 'SamplingSufficient',
    status: 'False',
    reason: policyReasons.WindowShorterThanSampling,
    message: short.join('; '),
  };
}

export function offConditions(): PolicyCondition[] {
  return (['MetricsAvailable', 'ScalingLimited', 'SamplingSufficient'] as const).map((type) => ({
    type,
    status: 'Unknown',
    reason: policyReasons.AutoscalingOff,
    message: 'spec.autoscaling.mode is Off: spec.replicas and spec.runtime apply as written',
  }));
}
