/**
 * The Kubernetes HPA (autoscaling/v2) with its defaults, as kube-controller-manager runs it
 * (kubernetes/website horizontal-pod-autoscale.md, "Algorithm details" and "Default behavior";
 * pkg/controller/podautoscaler horizontal.go and replica_calculator.go):
 *
 * - Every 15 s (--horizontal-pod-autoscaler-sync-period) the metric proposes a count
 *   (podsMetricReplicas, externalPerPodReplicas): none within 10% of the target
 *   (--horizontal-pod-autoscaler-tolerance 0.1).
 * - Stabilization: scale-up 0 s (the proposal as it is), scale-down 300 s: the highest proposal
 *   of the last 300 s, this one included.
 * - Rate: scale-up at most max(+100%, +4 pods) per 15 s (policies Percent 100 and Pods 4, each
 *   per 15 s, selectPolicy Max), counted from the replicas at the start of those 15 s; scale-down
 *   Percent 100 per 15 s, i.e. down to minReplicas at once.
 * - Replicas outside [min, max] go to the bound, whatever the metric.
 *
 * KEDA (keda.ts) runs on this too.
 */
import type { Bounds, Controller } from './controller.ts';
import { latestAt, type SampleSource } from '../recorder.ts';

/** The defaults the HPA applies when a spec leaves `behavior` out. */
export const hpaDefaults = {
  syncSeconds: 15,
  tolerance: 0.1,
  scaleUpStabilizationSeconds: 0,
  scaleDownStabilizationSeconds: 300,
  scaleUpPercent: 100,
  scaleUpPods: 4,
  scaleDownPercent: 100,
  policyPeriodSeconds: 15,
} as const;

/** What a metric proposes given the current replicas; undefined: no metric, no scaling. */
export type HpaMetric = (source: SampleSource, now: number, current: number) => number | undefined;

export interface HpaOptions extends Bounds {
  name: string;
  metric: HpaMetric;
}

/** The HPA's memory between syncs: proposals (for stabilization) and scale events (for rate). */
export interface HpaState {
  recommendations: { at: number; replicas: number }[];
  scaleEvents: { at: number; change: number }[];
}

export function hpa(o: HpaOptions): Controller {
  const state: HpaState = { recommendations: [], scaleEvents: [] };
  return {
    name: o.name,
    periodSeconds: hpaDefaults.syncSeconds,
    log: [],
    tick(now, source) {
      const last = source.samples.at(-1);
      if (!last) return {};
      const current = last.replicas;
      let desired: number;
      if (current > o.maxReplicas) desired = o.maxReplicas;
      else if (current < o.minReplicas) desired = o.minReplicas;
      else {
        const proposed = o.metric(source, now, current);
        if (proposed === undefined) return {};
        desired = normalize(state, now, current, proposed, o);
      }
      if (desired !== current) state.scaleEvents.push({ at: now, change: desired - current });
      return { replicas: desired };
    },
  };
}

/**
 * The proposal through the stabilization windows, then the rate policies and the bounds
 * (normalizeDesiredReplicasWithBehaviors). Records the proposal, unstabilized, as the HPA does.
 */
export function normalize(
  state: HpaState,
  now: number,
  current: number,
  proposed: number,
  b: Bounds,
): number {
  const d = hpaDefaults;
  let up = proposed;
  let down = proposed;
  for (const r of state.recommendations) {
    if (r.at > now - d.scaleUpStabilizationSeconds) up = Math.min(up, r.replicas);
    if (r.at > now - d.scaleDownStabilizationSeconds) down = Math.max(down, r.replicas);
  }
  const stabilized = Math.min(Math.max(current, up), down);
  const keep = Math.max(d.scaleUpStabilizationSeconds, d.scaleDownStabilizationSeconds);
  state.recommendations = state.recommendations.filter((r) => r.at > now - keep);
  state.recommendations.push({ at: now, replicas: proposed });
  return rateLimited(state, now, current, stabilized, b);
}

/** convertDesiredReplicasWithBehaviorRate with the default policies. */
function rateLimited(
  state: HpaState,
  now: number,
  current: number,
  desired: number,
  b: Bounds,
): number {
  const d = hpaDefaults;
  state.scaleEvents = state.scaleEvents.filter((e) => e.at > now - d.policyPeriodSeconds);
  // Replicas when the policies' 15 s began: now less the changes made within them.
  const periodStart = current - state.scaleEvents.reduce((s, e) => s + e.change, 0);
  if (desired > current) {
    const limit = Math.max(
      Math.ceil(periodStart * (1 + d.scaleUpPercent / 100)),
      periodStart + d.scaleUpPods,
    );
    return Math.min(desired, b.maxReplicas, Math.max(limit, current));
  }
  if (desired < current) {
    // Go's int32(float64(n) * (1 - 100/100)): 0, so only minReplicas holds it.
    const limit = Math.trunc(periodStart * (1 - d.scaleDownPercent / 100));
    return Math.max(desired, b.minReplicas, Math.min(limit, current));
  }
  return desired;
}

/**
 * A Pods metric with an AverageValue target (calcPlainMetricReplicas): `mean` over the pods
 * that reported it; `ready` of those still in the Deployment and not Pending; `missing`: pods
 * without a value (started since); `pending`: Pending pods, set aside.
 *
 * Without missing or (on a scale-up) Pending pods: ceil(ready x mean / target), none within
 * the tolerance. Otherwise the mean again, with missing pods at the target on a scale-down and
 * at 0 on a scale-up, and on a scale-up Pending pods at 0; no change if that lands within the
 * tolerance or reverses the direction. E.g. 4 pods at 100% of 50%: ceil(4 x 2) = 8; with 2
 * pods Pending: (4 x 100) / (6 x 50) = 1.33, ceil(6 x 1.33) = 8.
 */
export function podsMetricReplicas(
  m: {
    current: number;
    mean: number;
    reporting: number;
    ready: number;
    missing: number;
    pending: number;
  },
  target: number,
  tolerance: number = hpaDefaults.tolerance,
): number {
  const ratio = m.mean / target;
  const rebalance = m.pending > 0 && ratio > 1;
  if (!rebalance && m.missing === 0) {
    return Math.abs(1 - ratio) <= tolerance ? m.current : Math.ceil(ratio * m.ready);
  }
  const filled = m.mean * m.reporting + (ratio < 1 ? target * m.missing : 0);
  const counted = m.reporting + m.missing + (rebalance ? m.pending : 0);
  const again = filled / (target * counted);
  const reversed = (ratio < 1 && again > 1) || (ratio > 1 && again < 1);
  if (Math.abs(1 - again) <= tolerance || reversed) return m.current;
  return Math.ceil(again * counted);
}

/**
 * An External metric with an AverageValue target (GetExternalPerPodMetricReplicas): the
 * metric's total over the Deployment's pods (status.replicas, Pending ones included).
 * E.g. 12 requests in 2 pods at target 2: 12 / (2 x 2) = 3, out of tolerance: ceil(12 / 2) = 6.
 */
export function externalPerPodReplicas(
  statusReplicas: number,
  total: number,
  target: number,
  tolerance: number = hpaDefaults.tolerance,
): number {
  const ratio = total / (target * statusReplicas);
  return Math.abs(1 - ratio) > tolerance ? Math.ceil(total / target) : statusReplicas;
}

/** dcgm-exporter's default collection interval (-c 30000, pkg/cmd/app.go). */
export const dcgmCollectSeconds = 30;

/**
 * HPA on GPU utilization as it is usually wired: dcgm-exporter's DCGM_FI_DEV_GPU_UTIL per pod,
 * through Prometheus and prometheus-adapter as a Pods metric, target AverageValue `target`.
 * The value is NVML's utilization over its last ~1 s sample period, collected every 30 s, so at
 * a sync the HPA sees each pod's busy share of one second up to 30 s old (Sample.utilGpus at the
 * last collection: its mean over the pods holding a GPU then). Starting pods hold their GPU and
 * report it (0% while loading); pods that got a GPU since have no value yet (missing).
 */
export function gpuUtilizationReplicas(target: number): HpaMetric {
  return (source, now, current) => {
    const latest = source.samples.at(-1);
    const held = latestAt(
      source.samples,
      Math.floor(now / dcgmCollectSeconds) * dcgmCollectSeconds,
    );
    if (!latest || !held || held.gpuPods === 0) return undefined;
    const ready = Math.min(held.gpuPods, latest.gpuPods);
    return podsMetricReplicas(
      {
        current,
        mean: held.utilGpus,
        reporting: held.gpuPods,
        ready,
        missing: latest.gpuPods - ready,
        pending: latest.pending,
      },
      target,
    );
  };
}
