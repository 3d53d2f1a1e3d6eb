/**
 * Which children to apply, and in what order: each waits only for what it needs, the rest
 * run in parallel. A child whose need was refused is not applied (it is "blocked"), so a
 * spec that the API server refuses anywhere never reaches the running pods.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Effective, ZImageDeployment } from './api/v1alpha1/types.ts';
import {
  buildConfigMap,
  buildPodDisruptionBudget,
  buildRole,
  buildRoleBinding,
  buildService,
  buildServiceAccount,
} from './builders/children.ts';
import { buildDeployment } from './builders/deployment.ts';
import { buildPrometheusRule, buildServiceMonitor } from './builders/monitoring.ts';
import {
  buildRouterNetworkPolicy,
  buildRuntimeNetworkPolicy,
  defaultPolicyPeers,
  type PolicyPeers,
} from './builders/network-policy.ts';
import {
  buildPodsService,
  buildRouterDeployment,
  buildRouterPodDisruptionBudget,
  buildRouterRole,
  buildRouterRoleBinding,
  buildRouterServiceAccount,
  type RouterImage,
} from './builders/router.ts';
import type { Rejection } from './child-errors.ts';
import type { ChildKind } from './k8s/caches.ts';

export type ApplyKind = ChildKind | 'ServiceMonitor' | 'PrometheusRule';

/**
 * A child's place in the plan: its kind where the object has one child of that kind, a name
 * of its own where it has two (the router's Deployment beside the runtime's).
 */
export type ChildId =
  | ApplyKind
  | 'PodsService'
  | 'RouterServiceAccount'
  | 'RouterRole'
  | 'RouterRoleBinding'
  | 'RouterPodDisruptionBudget'
  | 'RouterNetworkPolicy'
  | 'RouterDeployment';

export interface PlannedChild {
  id: ChildId;
  kind: ApplyKind;
  obj: KubernetesObject;
  /** Children that must have applied first. */
  needs: readonly ChildId[];
}

export type Outcome =
  | { status: 'unchanged' | 'created' | 'updated'; obj: KubernetesObject }
  | { status: 'rejected'; rejection: Rejection }
  /** A transient error (the reconcile rethrows it after recording what did apply). */
  | { status: 'failed'; error: unknown }
  | { status: 'blocked'; by: ChildId[] };

/**
 * The router's children (spec.router.enabled): as for the runtime, its pods need their
 * ServiceAccount and the binding that lets them discover the runtime pods, and their
 * NetworkPolicy where there is one (they never run unfenced).
 */
function routerChildren(
  cr: ZImageDeployment,
  router: RouterImage,
  peers: PolicyPeers,
): PlannedChild[] {
  const fenced = cr.spec.networkPolicy.enabled;
  return [
    {
      id: 'RouterServiceAccount',
      kind: 'ServiceAccount',
      obj: buildRouterServiceAccount(cr),
      needs: [],
    },
    { id: 'RouterRole', kind: 'Role', obj: buildRouterRole(cr), needs: [] },
    {
      id: 'RouterRoleBinding',
      kind: 'RoleBinding',
      obj: buildRouterRoleBinding(cr),
      needs: ['RouterRole'],
    },
    {
      id: 'RouterPodDisruptionBudget',
      kind: 'PodDisruptionBudget',
      obj: buildRouterPodDisruptionBudget(cr),
      needs: [],
    },
    { id: 'PodsService', kind: 'Service', obj: buildPodsService(cr), needs: [] },
    ...(fenced
      ? [
          {
            id: 'RouterNetworkPolicy',
            kind: 'NetworkPolicy',
            obj: buildRouterNetworkPolicy(cr, peers),
            needs: [],
          } as const,
        ]
      : []),
    {
      id: 'RouterDeployment',
      kind: 'Deployment',
      obj: buildRouterDeployment(cr, router),
      needs: [
        'RouterServiceAccount',
        'RouterRoleBinding',
        'RouterPodDisruptionBudget',
        ...(fenced ? (['RouterNetworkPolicy'] as const) : []),
      ],
    },
  ];
}

/** A child the object has one of: its kind is its id. */
const only = (kind: ApplyKind, obj: KubernetesObject, needs: ChildId[] = []): PlannedChild => ({
  id: kind,
  kind,
  obj,
  needs,
});

/**
 * - RoleBinding needs its Role: the API server lets the operator bind only rules it holds
 *   itself and checks that by reading the Role, so a binding applied first is refused (404).
 * - Deployment needs every supporting child: its pods are refused without their
 *   ServiceAccount and start without their live config (ConfigMap, and the RoleBinding to read
 *   it); and a spec refused for its Service or PodDisruptionBudget is not rolled out either:
 *   the running pods keep the last spec that applied everywhere. The monitoring objects are
 *   optional (only while their CRDs are served) and gate nothing.
 * - With the router on, its children come first and the client Service waits for the router
 *   Deployment: it moves to the routers only once they exist.
 * - With spec.networkPolicy on, each Deployment waits for its pods' NetworkPolicy.
 */
export function childPlan(
  cr: ZImageDeployment,
  effective: Effective,
  monitoring: boolean,
  router: RouterImage,
  peers: PolicyPeers = defaultPolicyPeers,
): PlannedChild[] {
  const routed = cr.spec.router.enabled;
  const fenced = cr.spec.networkPolicy.enabled;
  const plan: PlannedChild[] = [
    ...(routed ? routerChildren(cr, router, peers) : []),
    only('ServiceAccount', buildServiceAccount(cr)),
    only('Role', buildRole(cr)),
    only('RoleBinding', buildRoleBinding(cr), ['Role']),
    only('ConfigMap', buildConfigMap(cr, effective)),
    only('Service', buildService(cr), routed ? ['RouterDeployment'] : []),
    only('PodDisruptionBudget', buildPodDisruptionBudget(cr)),
    ...(fenced ? [only('NetworkPolicy', buildRuntimeNetworkPolicy(cr, peers))] : []),
  ];
  if (monitoring) {
    plan.push(
      only('ServiceMonitor', buildServiceMonitor(cr)),
      only('PrometheusRule', buildPrometheusRule(cr)),
    );
  }
  const supporting: ChildId[] = [
    'ServiceAccount',
    'RoleBinding',
    'ConfigMap',
    'Service',
    'PodDisruptionBudget',
    ...(routed ? (['PodsService'] as const) : []),
    ...(fenced ? (['NetworkPolicy'] as const) : []),
  ];
  plan.push(only('Deployment', buildDeployment(cr, effective), supporting));
  return plan;
}

/** Run a plan (listed needs-first): each child starts as soon as its needs have applied. */
export async function runPlan(
  plan: readonly PlannedChild[],
  ensure: (child: PlannedChild) => Promise<Outcome>,
): Promise<Map<ChildId, Outcome>> {
  const started = new Map<ChildId, Promise<Outcome>>();
  for (const child of plan) {
    const needs = child.needs.map((k) => {
      const need = started.get(k);
      if (!need) throw new Error(`plan lists ${child.id} before its need ${k}`);
      return need.then((o) => [k, o] as const);
    });
    started.set(
      child.id,
      Promise.all(needs).then(async (settled): Promise<Outcome> => {
        const by = settled.filter(([, o]) => !isApplied(o)).map(([k]) => k);
        if (by.length > 0) return { status: 'blocked', by };
        try {
          return await ensure(child);
        } catch (error) {
          return { status: 'failed', error };
        }
      }),
    );
  }
  const outcomes = new Map<ChildId, Outcome>();
  for (const [id, outcome] of started) outcomes.set(id, await outcome);
  return outcomes;
}

export function isApplied(o: Outcome): o is Extract<Outcome, { obj: KubernetesObject }> {
  return o.status === 'unchanged' || o.status === 'created' || o.status === 'updated';
}
