/**
 * Turning spec.router off removes what the router added: its Deployment, PDB, ServiceAccount,
 * Role, RoleBinding and the runtime pods' own Service. By name, and only objects this
 * ZImageDeployment controls: a same-named object of someone else's is theirs.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ZImageDeployment } from './api/v1alpha1/types.ts';
import { childKinds, type ChildKind } from './k8s/caches.ts';
import { childNames, routerNames } from './api/v1alpha1/names.ts';

/** Kind and name of each child the router adds. */
export function routerChildRefs(crName: string): { kind: ChildKind; name: string }[] {
  const names = routerNames(crName);
  return [
    { kind: 'Deployment', name: names.deployment },
    { kind: 'PodDisruptionBudget', name: names.pdb },
    { kind: 'RoleBinding', name: names.roleBinding },
    { kind: 'Role', name: names.role },
    { kind: 'ServiceAccount', name: names.serviceAccount },
    { kind: 'Service', name: childNames(crName).podsService },
  ];
}

const apiVersionOf = (kind: ChildKind) => childKinds.find((c) => c.kind === kind)!.apiVersion;

/**
 * The router children still in the caches while the router is off, as objects to delete
 * (apiVersion and kind set: list results carry neither per item).
 */
export function routerLeftovers(
  cr: ZImageDeployment,
  getChild: (kind: ChildKind, namespace: string, name: string) => KubernetesObject | undefined,
): KubernetesObject[] {
  if (cr.spec.router.enabled) return [];
  const { namespace, uid } = cr.metadata;
  return routerChildRefs(cr.metadata.name).flatMap(({ kind, name }) => {
    const live = getChild(kind, namespace, name);
    const ours = live?.metadata?.ownerReferences?.some((r) => r.controller && r.uid === uid);
    return live && ours
      ? [{ apiVersion: apiVersionOf(kind), kind, metadata: { name, namespace } }]
      : [];
  });
}
