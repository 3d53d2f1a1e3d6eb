/**
 * From what the sources sampled and what Kubernetes says of the pods to the Signals that
 * decide() reads. Pure: the autoscaler's loop samples, the reconciler calls this with the
 * pods of its cache at decision time.
 *
 * Two sources may both speak for one object. Direct scrapes win where they have a value (they
 * are 1 s fresh; Prometheus adds its scrape interval and dcgm-exporter's 30 s collection),
 * Prometheus fills in where they have none, and where neither has a value the reading says
 * why, in the words of the source the object prefers: never a zero.
 */
import { observedSignals, type ObservedSignal } from '../api/v1alpha1/signals.ts';
import type { CachedPod } from '../k8s/cached.ts';
import type { Signals } from '../policy/signals.ts';
import { countPendingForGpu } from './pending.ts';
import { podRefOf } from './pod-ref.ts';
import { allMissing, type KeySignals, type PodRef, type Reading } from '../signals/sample.ts';

/** What one tick sampled for one object: one entry per source the object uses. */
export interface Sampled {
  direct?: KeySignals;
  prometheus?: KeySignals;
  /** Epoch ms of the tick. */
  at: number;
}

function pick(direct: Reading | undefined, prometheus: Reading | undefined): Reading | undefined {
  if (direct?.ok) return direct;
  if (prometheus?.ok) return prometheus;
  return direct ?? prometheus;
}

const terminating = (p: CachedPod) => p.metadata?.deletionTimestamp !== undefined;

/** Ready and not on its way out: the pods that serve. */
export function isServing(pod: CachedPod): boolean {
  if (terminating(pod)) return false;
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

/**
 * The pods the sources read: Ready ones only. A pod loading its weights (~105 s for the real
 * model) serves nothing, and its idle GPU averaged in would dilute two saturated pods' 100% to
 * 67% and clear a saturated rule while the new pod is still a minute and a half away.
 */
export function sampledPods(pods: readonly CachedPod[]): PodRef[] {
  return pods.filter(isServing).flatMap((p) => podRefOf(p) ?? []);
}

/**
 * Pods Pending for lack of GPUs, less those that only wait for a terminating pod's GPU (a
 * rolling update or a pod replaced on the same card): another GPU would not make them run
 * sooner, and counting them would walk the quality ladder down during every roll.
 */
export function pendingForGpus(pods: readonly CachedPod[], resource: string): number {
  return Math.max(0, countPendingForGpu(pods, resource) - pods.filter(terminating).length);
}

export interface FleetInput {
  /** spec.replicas as the cache holds it now. */
  replicas: number;
  pods: readonly CachedPod[];
  gpuResource: string;
  /** The decision's time (epoch ms) and interval: the Kubernetes reading's freshness. */
  now: number;
  intervalSeconds: number;
}

export function policySignals(sampled: Sampled | undefined, fleet: FleetInput): Signals {
  const none = allMissing('NotConfigured', 'no signal source sampled this object yet');
  const out = {} as Record<ObservedSignal, Reading>;
  for (const name of observedSignals) {
    out[name] = pick(sampled?.direct?.[name], sampled?.prometheus?.[name]) ?? none[name];
  }
  return {
    ...out,
    pendingPods: {
      ok: true,
      value: pendingForGpus(fleet.pods, fleet.gpuResource),
      intervalSeconds: fleet.intervalSeconds,
      at: fleet.now,
    },
    fleet: {
      replicas: fleet.replicas,
      readyReplicas: fleet.pods.filter(isServing).length,
    },
  };
}
