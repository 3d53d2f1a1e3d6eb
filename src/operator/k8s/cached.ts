/**
 * What the informer caches keep of each object, as controller-runtime's cache transforms do:
 * an object is trimmed once, when it arrives (list or watch event), and only the trimmed copy
 * stays in memory. At 1000 ZImageDeployments the operator caches ~1000 pods, ~7000 children and
 * ~250 nodes; a pod arrives with ~10 KB of JSON (managedFields alone mirror its whole template
 * for kube-controller-manager, its status for the kubelet) of which the operator reads ~1 KB.
 *
 * Pods, nodes and claims keep only the fields the operator reads, and their types say so:
 * a reader typed with CachedPod cannot compile a read of a dropped field. Children keep
 * everything but managedFields: the applier compares every field the builders set against
 * the cached child (k8s/compare.ts), so a narrower copy would read as a hand edit and cost a
 * write. ZImageDeployments keep everything but managedFields and kubectl's last-applied
 * annotation (a second copy of the spec): the status write sends the cached object back, and
 * the status subresource takes only status from it. ESLint refuses `managedFields` outside
 * this file.
 *
 * Every trimmed object keeps metadata.name, namespace and resourceVersion: the library's
 * cache is keyed by the first two and skips events whose resourceVersion it already holds.
 */
import type {
  KubernetesObject,
  V1Container,
  V1Node,
  V1NodeStatus,
  V1ObjectMeta,
  V1PersistentVolumeClaim,
  V1PersistentVolumeClaimSpec,
  V1PersistentVolumeClaimStatus,
  V1Pod,
  V1PodStatus,
} from '@kubernetes/client-node';

/** Copy the listed keys that are set; shares their values with `obj` (no deep copy). */
function pick<T extends object, K extends keyof T>(
  obj: T | undefined,
  keys: readonly K[],
): Pick<T, K> {
  const out = {} as Pick<T, K>;
  if (obj) for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

const cacheKeys = ['name', 'namespace', 'resourceVersion'] as const;

/**
 * pods: podsOf (owner label), belowDeployment and the autoscaler (deletionTimestamp, phase,
 * conditions), the direct signal source (podIP, nodeName, the runtime container's port).
 */
const podMetaKeys = [...cacheKeys, 'labels', 'deletionTimestamp'] as const;
const podStatusKeys = ['phase', 'podIP', 'conditions'] as const;

export interface CachedPod {
  metadata?: Pick<V1ObjectMeta, (typeof podMetaKeys)[number]>;
  spec?: { nodeName?: string; containers: Pick<V1Container, 'name' | 'ports'>[] };
  status?: Pick<V1PodStatus, (typeof podStatusKeys)[number]>;
}

export function trimPod(pod: V1Pod): CachedPod {
  const { spec } = pod;
  return {
    metadata: pick(pod.metadata, podMetaKeys),
    ...(spec
      ? {
          spec: {
            ...pick(spec, ['nodeName']),
            containers: spec.containers.map((c) => pick(c, ['name', 'ports'])),
          },
        }
      : {}),
    ...(pod.status ? { status: pick(pod.status, podStatusKeys) } : {}),
  };
}

/** nodes: only which extended resources (e.g. nvidia.com/gpu) they offer. */
export interface CachedNode {
  metadata?: Pick<V1ObjectMeta, (typeof cacheKeys)[number]>;
  status?: Pick<V1NodeStatus, 'allocatable'>;
}

export function trimNode(node: V1Node): CachedNode {
  return {
    metadata: pick(node.metadata, cacheKeys),
    ...(node.status ? { status: pick(node.status, ['allocatable']) } : {}),
  };
}

/** model claims: whether one exists and its access modes (the ReadWriteOnce warning). */
export interface CachedClaim {
  metadata?: Pick<V1ObjectMeta, (typeof cacheKeys)[number]>;
  spec?: Pick<V1PersistentVolumeClaimSpec, 'accessModes'>;
  status?: Pick<V1PersistentVolumeClaimStatus, 'accessModes'>;
}

export function trimClaim(claim: V1PersistentVolumeClaim): CachedClaim {
  return {
    metadata: pick(claim.metadata, cacheKeys),
    ...(claim.spec ? { spec: pick(claim.spec, ['accessModes']) } : {}),
    ...(claim.status ? { status: pick(claim.status, ['accessModes']) } : {}),
  };
}

/** Children: the whole object but its managedFields (see the top of this file). */
export function withoutManagedFields<T extends KubernetesObject>(obj: T): T {
  if (!obj.metadata?.managedFields) return obj;
  const { managedFields: _, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/**
 * NetworkPolicies in the client library's shape: an ingress rule's `from` is `_from` there (a
 * reserved word). Lists come deserialized (`_from`), watch events as JSON (`from`); the cache
 * holds one shape, the builders', or every watch event would look like a change to re-apply.
 */
export function trimNetworkPolicy<T extends KubernetesObject>(obj: T): T {
  const trimmed = withoutManagedFields(obj) as T & { spec?: { ingress?: object[] } };
  const ingress = trimmed.spec?.ingress;
  if (!ingress?.some((r) => 'from' in r)) return trimmed;
  const rules = ingress.map((rule) => {
    if (!('from' in rule)) return rule;
    const { from, ...rest } = rule;
    return { ...rest, _from: from };
  });
  return { ...trimmed, spec: { ...trimmed.spec, ingress: rules } };
}

const lastApplied = 'kubectl.kubernetes.io/last-applied-configuration';

/** ZImageDeployments: also without kubectl's client-side apply annotation. */
export function trimCustomResource<T extends KubernetesObject>(obj: T): T {
  const trimmed = withoutManagedFields(obj);
  const annotations = trimmed.metadata?.annotations;
  if (!annotations?.[lastApplied]) return trimmed;
  const { [lastApplied]: _, ...rest } = annotations;
  return { ...trimmed, metadata: { ...trimmed.metadata, annotations: rest } };
}
