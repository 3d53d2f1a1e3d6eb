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
import { liveConfigKey, type LiveConfig } from '../../contract/runtime.ts';
import type { Effective, ZImageDeployment } from '../api/v1alpha1/types.ts';
import { childNames, routerSelectorLabels, selectorLabels } from '../api/v1alpha1/names.ts';
import { childMeta } from './owner.ts';
import { clusterIpService, maxOneUnavailable, roleBinding, serviceAccount } from './shapes.ts';

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
  const selector = cr.spec.router.enabled ? routerSelectorLabels(name) : selectorLabels(name);
  return clusterIpService(childMeta(cr, childNames(name).service), selector);
}

/** At most one runtime pod voluntarily down at a time (shapes.ts says why maxUnavailable). */
export function buildPodDisruptionBudget(cr: ZImageDeployment): V1PodDisruptionBudget {
  return maxOneUnavailable(
    childMeta(cr, childNames(cr.metadata.name).pdb),
    selectorLabels(cr.metadata.name),
  );
}

export function buildServiceAccount(cr: ZImageDeployment): V1ServiceAccount {
  return serviceAccount(childMeta(cr, childNames(cr.metadata.name).serviceAccount));
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
  return roleBinding(childMeta(cr, names.roleBinding), names.role, names.serviceAccount);
}
