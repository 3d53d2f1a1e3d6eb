/**
 * Pure: failures below the Deployment, in the words of the controller or scheduler that hit
 * them. The Deployment applied, but its pods cannot be created (a ReplicaSet's FailedCreate:
 * quota, LimitRange, an unknown RuntimeClass, Pod Security) or placed (no node has the GPUs
 * asked for); without this the object would say PodsNotReady and Progressing=True forever.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import type { CachedPod } from './k8s/cached.ts';
import type { Problem } from './problem.ts';
import { reasons } from './reasons.ts';

function deploymentCondition(d: V1Deployment, type: string) {
  return d.status?.conditions?.find((c) => c.type === type);
}

function unschedulable(pod: CachedPod): string | undefined {
  const c = pod.status?.conditions?.find((x) => x.type === 'PodScheduled');
  return c?.status === 'False' && c.reason === 'Unschedulable' ? (c.message ?? '') : undefined;
}

/**
 * Checked in this order: pods that cannot be created, pods that cannot be placed, a rollout
 * past its progress deadline (660 s: the startup budget plus a minute). The first pod by name
 * speaks for the others, so the message (and the status) stays the same while nothing changes.
 */
export function belowDeployment(
  deployment: V1Deployment | undefined,
  pods: readonly CachedPod[],
): Problem | undefined {
  if (!deployment) return undefined;
  const name = deployment.metadata?.name ?? '';
  const failure = deploymentCondition(deployment, 'ReplicaFailure');
  if (failure?.status === 'True') {
    return {
      reason: reasons.ReplicaFailure,
      message: `Deployment "${name}" cannot create pods: ${failure.message ?? failure.reason ?? ''}`,
    };
  }
  // maxSurge 0: a new pod waits for the GPU of the old one it replaces, which is freed only
  // once that pod has terminated (up to the 135 s grace). Unschedulable then is the rollout
  // taking its course, not a failure; the scheduler retries when the old pod is gone.
  const terminating = pods.some((p) => p.metadata?.deletionTimestamp);
  const stuck = (terminating ? [] : pods)
    .map((p) => [p.metadata?.name ?? '', unschedulable(p)] as const)
    .filter((e): e is readonly [string, string] => e[1] !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
  if (stuck.length > 0) {
    const [pod, message] = stuck[0]!;
    const count = stuck.length === 1 ? '1 pod' : `${stuck.length} pods`;
    return {
      reason: reasons.PodsUnschedulable,
      message: `${count} cannot be scheduled; pod "${pod}": ${message}`,
    };
  }
  const progressing = deploymentCondition(deployment, 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    return {
      reason: reasons.ProgressDeadlineExceeded,
      message: `Deployment "${name}": ${progressing.message ?? 'progress deadline exceeded'}`,
    };
  }
  return undefined;
}
