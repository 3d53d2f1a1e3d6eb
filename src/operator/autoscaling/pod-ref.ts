/**
 * A runtime pod as the signal sources need it, from the Pod object the reconciler lists:
 * scraped only while Running with an IP, at the runtime container's port named
 * runtimePortName (8080 when the template names none).
 */
import type { CachedPod } from '../k8s/cached.ts';
import { runtimePort, runtimePortName } from '../../contract/runtime.ts';
import type { PodRef } from '../signals/sample.ts';

/** The pod's PodRef; undefined while it cannot be scraped (not Running, no IP, deleting). */
export function podRefOf(pod: CachedPod): PodRef | undefined {
  const { name, namespace, deletionTimestamp } = pod.metadata ?? {};
  const ip = pod.status?.podIP;
  if (!name || !namespace || !ip || deletionTimestamp || pod.status?.phase !== 'Running') {
    return undefined;
  }
  const ports = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
  const port = ports.find((p) => p.name === runtimePortName)?.containerPort ?? runtimePort;
  return {
    namespace,
    name,
    ip,
    port,
    ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
  };
}
