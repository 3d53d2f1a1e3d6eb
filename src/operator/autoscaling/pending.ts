/**
 * Pods Pending for lack of GPUs, from Kubernetes (no metrics source knows this): the
 * scheduler's PodScheduled=False, reason Unschedulable, with a message naming the GPU
 * resource, e.g. "0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: ...".
 * A pod unschedulable for another reason (a taint, a node selector, a claim) is not counted:
 * another GPU would not place it. Pure; the reconciler feeds it its pods.
 */
import { nvidiaGpuResource } from '../../contract/labels.ts';

/** The fields read, structurally (a V1Pod fits). */
export interface PodLike {
  metadata?: { deletionTimestamp?: unknown };
  status?: {
    phase?: string;
    conditions?: readonly { type: string; status: string; reason?: string; message?: string }[];
  };
}

/** True when `pod` waits for a node with a free `resource`. */
export function pendingForGpu(pod: PodLike, resource: string = nvidiaGpuResource): boolean {
  if (pod.status?.phase !== 'Pending' || pod.metadata?.deletionTimestamp) return false;
  const scheduled = pod.status.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status !== 'False' || scheduled.reason !== 'Unschedulable') return false;
  // "Insufficient nvidia.com/gpu", not "Insufficient nvidia.com/gpu.shared".
  const escaped = resource.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(`Insufficient ${escaped}(?![\\w/-]|\\.\\w)`).test(scheduled.message ?? '');
}

/** How many of `pods` wait for a GPU (`resource`: the object's GPU resource name). */
export function countPendingForGpu(
  pods: readonly PodLike[],
  resource: string = nvidiaGpuResource,
): number {
  return pods.filter((p) => pendingForGpu(p, resource)).length;
}
