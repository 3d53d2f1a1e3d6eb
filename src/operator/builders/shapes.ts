/**
 * The object shapes the runtime's children and the router's share, each spelled once; the
 * callers give the names, labels and selectors (children.ts, router.ts).
 */
import type {
  V1ObjectMeta,
  V1PodSecurityContext,
  V1SecurityContext,
  V1PodDisruptionBudget,
  V1RoleBinding,
  V1Service,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { runtimePortName, runtimeUid } from '../../contract/runtime.ts';

/** Port 80 to the pods' port named runtimePortName (the runtime and the router both serve it). */
export function clusterIpService(
  metadata: V1ObjectMeta,
  selector: Record<string, string>,
): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata,
    spec: {
      type: 'ClusterIP',
      selector,
      ports: [{ name: runtimePortName, port: 80, targetPort: runtimePortName, protocol: 'TCP' }],
    },
  };
}

/**
 * At most one pod voluntarily down at a time (drains, node upgrades). maxUnavailable, not
 * minAvailable: with one replica a minAvailable of 1 would block every node drain.
 */
export function maxOneUnavailable(
  metadata: V1ObjectMeta,
  matchLabels: Record<string, string>,
): V1PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata,
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  };
}

export function serviceAccount(metadata: V1ObjectMeta): V1ServiceAccount {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata };
}

/** Binds `role` to the ServiceAccount `account` of the same namespace. */
export function roleBinding(
  metadata: V1ObjectMeta & { namespace: string },
  role: string,
  account: string,
): V1RoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata,
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
    subjects: [{ kind: 'ServiceAccount', name: account, namespace: metadata.namespace }],
  };
}

/**
 * Pod Security "restricted" for the runtime's and the router's pods: the image's non-root user
 * (distroless "nonroot"), RuntimeDefault seccomp; fsGroup so mounted volumes are readable.
 */
export const restrictedPod: V1PodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: runtimeUid,
  runAsGroup: runtimeUid,
  fsGroup: runtimeUid,
  seccompProfile: { type: 'RuntimeDefault' },
};

/** ... and for their containers: no privilege escalation, no capabilities, read-only root. */
export const restrictedContainer: V1SecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};
