/**
 * Turning spec.router off removes what the router added: its Deployment, PDB, ServiceAccount,
 * Role, RoleBinding, NetworkPolicy and the runtime pods' own Service; turning
 * spec.networkPolicy off removes both NetworkPolicies. By name, and only objects this
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
    { kind: 'NetworkPolicy', name: names.networkPolicy },
  ];
}

/** Kind and name of each child spec.networkPolicy adds. */
function policyRefs(crName: string): { kind: ChildKind; name: string }[] {
  return [
    { kind: 'NetworkPolicy', name: childNames(crName).networkPolicy },
    { kind: 'NetworkPolicy', name: routerNames(crName).networkPolicy },
  ];
}

const apiVersionOf = (kind: ChildKind) => childKinds.find((c) => c.kind === kind)!.apiVersion;

/**
 * The children of a part turned off (the router, the policies) still in the caches, as
 * objects to delete (apiVersion and kind set: list results carry neither per item).
 */
export function leftovers(
  cr: ZImageDeployment,
  getChild: (kind: ChildKind, namespace: string, name: string) => KubernetesObject | undefined,
): KubernetesObject[] {
  const { namespace, uid, name: crName } = cr.metadata;
  const off = [
    ...(cr.spec.router.enabled ? [] : routerChildRefs(crName)),
    ...(cr.spec.networkPolicy.enabled ? [] : policyRefs(crName)),
  ];
  // The router's policy is in both lists when both parts are off.
  const refs = off.filter(
    (r, i) => off.findIndex((o) => o.kind === r.kind && o.name === r.name) === i,
  );
  return refs.flatMap(({ kind, name }) => {
    const live = getChild(kind, namespace, name);
    const ours = live?.metadata?.ownerReferences?.some((r) => r.controller && r.uid === uid);
    return live && ours
      ? [{ apiVersion: apiVersionOf(kind), kind, metadata: { name, namespace } }]
      : [];
  });
}
