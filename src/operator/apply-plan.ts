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
import type { Rejection } from './child-errors.ts';
import type { ChildKind } from './k8s/caches.ts';

export type ApplyKind = ChildKind | 'ServiceMonitor' | 'PrometheusRule';

export interface PlannedChild {
  kind: ApplyKind;
  obj: KubernetesObject;
  /** Children that must have applied first. */
  needs: readonly ApplyKind[];
}

export type Outcome =
  | { status: 'unchanged' | 'created' | 'updated'; obj: KubernetesObject }
  | { status: 'rejected'; rejection: Rejection }
  /** A transient error (the reconcile rethrows it after recording what did apply). */
  | { status: 'failed'; error: unknown }
  | { status: 'blocked'; by: ApplyKind[] };

/**
 * - RoleBinding needs its Role: the API server lets the operator bind only rules it holds
 *   itself and checks that by reading the Role, so a binding applied first is refused (404).
 * - Deployment needs every supporting child: its pods are refused without their
 *   ServiceAccount and start without their live config (ConfigMap, and the RoleBinding to read
 *   it); and a spec refused for its Service or PodDisruptionBudget is not rolled out either:
 *   the running pods keep the last spec that applied everywhere. The monitoring objects are
 *   optional (only while their CRDs are served) and gate nothing.
 */
export function childPlan(
  cr: ZImageDeployment,
  effective: Effective,
  monitoring: boolean,
): PlannedChild[] {
  const plan: PlannedChild[] = [
    { kind: 'ServiceAccount', obj: buildServiceAccount(cr), needs: [] },
    { kind: 'Role', obj: buildRole(cr), needs: [] },
    { kind: 'RoleBinding', obj: buildRoleBinding(cr), needs: ['Role'] },
    { kind: 'ConfigMap', obj: buildConfigMap(cr, effective), needs: [] },
    { kind: 'Service', obj: buildService(cr), needs: [] },
    { kind: 'PodDisruptionBudget', obj: buildPodDisruptionBudget(cr), needs: [] },
  ];
  if (monitoring) {
    plan.push(
      { kind: 'ServiceMonitor', obj: buildServiceMonitor(cr), needs: [] },
      { kind: 'PrometheusRule', obj: buildPrometheusRule(cr), needs: [] },
    );
  }
  const supporting: ApplyKind[] = [
    'ServiceAccount',
    'RoleBinding',
    'ConfigMap',
    'Service',
    'PodDisruptionBudget',
  ];
  plan.push({ kind: 'Deployment', obj: buildDeployment(cr, effective), needs: supporting });
  return plan;
}

/** Run a plan (listed needs-first): each child starts as soon as its needs have applied. */
export async function runPlan(
  plan: readonly PlannedChild[],
  ensure: (child: PlannedChild) => Promise<Outcome>,
): Promise<Map<ApplyKind, Outcome>> {
  const started = new Map<ApplyKind, Promise<Outcome>>();
  for (const child of plan) {
    const needs = child.needs.map((k) => {
      const need = started.get(k);
      if (!need) throw new Error(`plan lists ${child.kind} before its need ${k}`);
      return need.then((o) => [k, o] as const);
    });
    started.set(
      child.kind,
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
  const outcomes = new Map<ApplyKind, Outcome>();
  for (const [kind, outcome] of started) outcomes.set(kind, await outcome);
  return outcomes;
}

export function isApplied(o: Outcome): o is Extract<Outcome, { obj: KubernetesObject }> {
  return o.status === 'unchanged' || o.status === 'created' || o.status === 'updated';
}
