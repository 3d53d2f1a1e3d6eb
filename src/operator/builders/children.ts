/**
 * Pure builders for every child of a ZImageDeployment except the Deployment
 * (deployment.ts) and the monitoring objects (monitoring.ts).
 */
import type {
  V1ConfigMap,
  V1PodDisruptionBudget,
  V1Role,
  V1RoleBinding,
  V1Service,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { liveConfigKey, runtimePortName, type LiveConfig } from '../../contract/runtime.ts';
import type { Effective, ZImageDeployment } from '../api/v1alpha1/types.ts';
import { childNames, routerSelectorLabels, selectorLabels } from '../api/v1alpha1/names.ts';
import { childMeta } from './owner.ts';

/** The runtime's live config: the only place steps and offload live. */
export function buildConfigMap(cr: ZImageDeployment, effective: Effective): V1ConfigMap {
  const live: LiveConfig = { steps: effective.steps, offload: effective.offload };
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: childMeta(cr, childNames(cr.metadata.name).configMap),
    data: { [liveConfigKey]: JSON.stringify(live) },
  };
}

/** The Service clients use: the routers while spec.router is on, else the runtime pods. */
export function buildService(cr: ZImageDeployment): V1Service {
  const name = cr.metadata.name;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(cr, childNames(cr.metadata.name).service),
    spec: {
      type: 'ClusterIP',
      selector: cr.spec.router.enabled ? routerSelectorLabels(name) : selectorLabels(name),
      ports: [{ name: runtimePortName, port: 80, targetPort: runtimePortName, protocol: 'TCP' }],
    },
  };
}

/**
 * At most one runtime pod voluntarily down at a time (drains, node upgrades). maxUnavailable,
 * not minAvailable: with one replica a minAvailable of 1 would block every node drain.
 */
export function buildPodDisruptionBudget(cr: ZImageDeployment): V1PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: childMeta(cr, childNames(cr.metadata.name).pdb),
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: selectorLabels(cr.metadata.name) },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  };
}

export function buildServiceAccount(cr: ZImageDeployment): V1ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: childMeta(cr, childNames(cr.metadata.name).serviceAccount),
  };
}

/**
 * The runtime may read exactly its own ConfigMap. resourceNames limits get and also list/watch
 * when the client asks with fieldSelector=metadata.name=<name>, which the runtime does.
 */
export function buildRole(cr: ZImageDeployment): V1Role {
  const names = childNames(cr.metadata.name);
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: childMeta(cr, names.role),
    rules: [
      {
        apiGroups: [''],
        resources: ['configmaps'],
        resourceNames: [names.configMap],
        verbs: ['get', 'list', 'watch'],
      },
    ],
  };
}

export function buildRoleBinding(cr: ZImageDeployment): V1RoleBinding {
  const names = childNames(cr.metadata.name);
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: childMeta(cr, names.roleBinding),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: names.role },
    subjects: [
      { kind: 'ServiceAccount', name: names.serviceAccount, namespace: cr.metadata.namespace },
    ],
  };
}
