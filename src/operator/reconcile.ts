/**
 * Level-based reconcile of one ZImageDeployment: read the world (informer caches), build the
 * desired children with pure builders, apply only what differs (server-side apply, one field
 * manager), write status once through the subresource, and write nothing when nothing changed.
 */
import type {
  KubernetesObject,
  V1Deployment,
  V1PersistentVolumeClaim,
} from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Clock } from '../contract/clock.ts';
import { zimageDeploymentSpec } from './api/v1alpha1/spec.ts';
import type { Effective, ZImageDeployment, ZImageDeploymentObject } from './api/v1alpha1/types.ts';
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
import type { EventRecorder } from './events.ts';
import type { Caches, ChildKind } from './k8s/caches.ts';
import type { Kube } from './k8s/client.ts';
import { isSubset } from './k8s/compare.ts';
import { statusCode } from './k8s/instrument.ts';
import { observe, type Problem } from './observe.ts';
import { reasons } from './reasons.ts';
import type { WorkResult } from './queue.ts';

/**
 * Recheck blocked objects (missing claim, unknown GPU) this often. Claims and nodes are watched,
 * so this is a safety net against a missed event or a cache still refilling after an API
 * server restart; the recheck reads only caches, so 10 s costs nothing.
 */
const blockedRecheckMs = 10_000;

export interface ReconcilerDeps {
  kube: Kube;
  caches: Caches;
  events: EventRecorder;
  log: Logger;
  /** Whether monitoring.coreos.com is served (kept fresh by the operator's poller). */
  monitoringAvailable: () => boolean;
  clock: Clock;
}

/** Field paths and reasons of a zod failure, e.g. "spec.runtime.steps: Too big: expected number to be <=50". */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${fieldPath(['spec', ...i.path])}: ${i.message}`)
    .join('; ');
}

/** A zod path the way the API server writes it: spec.autoscaling.rules[0].threshold. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`))
    .join('');
}

export function effectiveOf(cr: ZImageDeployment): Effective {
  // The autoscaler (a later issue) will override these from its state; for now the spec rules.
  return {
    replicas: cr.spec.replicas,
    steps: cr.spec.runtime.steps,
    offload: cr.spec.runtime.offload,
    attention: cr.spec.runtime.attention,
    executionProvider: cr.spec.runtime.executionProvider,
  };
}

/** A ReadWriteOnce model claim cannot be mounted by pods on several nodes. */
function degraded(
  cr: ZImageDeployment,
  claim: V1PersistentVolumeClaim | undefined,
): Problem | undefined {
  if (cr.spec.replicas <= 1 || !claim) return undefined;
  const modes = claim.status?.accessModes ?? claim.spec?.accessModes ?? [];
  if (modes.length !== 1 || modes[0] !== 'ReadWriteOnce') return undefined;
  return {
    reason: reasons.ModelClaimReadWriteOnce,
    message: `model claim "${claim.metadata?.name}" is ReadWriteOnce: ${cr.spec.replicas} replicas on different nodes cannot all mount it; use ReadOnlyMany`,
  };
}

export class Reconciler {
  private readonly d: ReconcilerDeps;

  constructor(deps: ReconcilerDeps) {
    this.d = deps;
  }

  async reconcile(key: string): Promise<WorkResult> {
    const [namespace, name] = key.split('/') as [string, string];
    const raw = this.d.caches.getCr(namespace, name);
    // Deleted: the garbage collector removes the children through their ownerReferences.
    if (!raw) return {};
    try {
      return await this.reconcileObject(raw);
    } catch (err) {
      // Transient (the queue retries with backoff); say so on the object, rate-limited.
      const message = String(err instanceof Error ? err.message : err).split('\n')[0]!;
      await this.d.events.warn(raw, { reason: reasons.ReconcileFailed, message });
      throw err;
    }
  }

  private async reconcileObject(raw: ZImageDeploymentObject): Promise<WorkResult> {
    const parsed = zimageDeploymentSpec.safeParse(raw.spec);
    if (!parsed.success) {
      // Terminal: retrying cannot fix a spec. The next edit of the object triggers a new run.
      const problem = { reason: reasons.InvalidSpec, message: describeIssues(parsed.error) };
      await this.writeStatus(raw, { problem });
      await this.d.events.warn(raw, problem);
      return {};
    }
    const cr = raw as ZImageDeployment;
    cr.spec = parsed.data;
    const effective = effectiveOf(cr);

    const { problem, claim } = this.preflight(cr);
    if (problem) {
      this.d.log.info(
        { key: `${cr.metadata.namespace}/${cr.metadata.name}`, ...problem },
        'blocked',
      );
      // Leave running children untouched: a missing claim or GPU type must not take pods down.
      await this.writeStatus(raw, {
        problem,
        effective,
        deployment: this.cached(cr, 'Deployment'),
      });
      await this.d.events.warn(raw, problem);
      return { requeueAfterMs: blockedRecheckMs };
    }

    const deployment = await this.applyChildren(cr, effective);
    await this.writeStatus(raw, { effective, deployment, degraded: degraded(cr, claim) });
    return {};
  }

  /** What must hold before children are touched: a node offers the GPU, the claim exists. */
  private preflight(cr: ZImageDeployment): { problem?: Problem; claim?: V1PersistentVolumeClaim } {
    const { resource } = cr.spec.gpu;
    if (!this.d.caches.hasResource(resource)) {
      return {
        problem: {
          reason: reasons.GpuResourceUnknown,
          message: `no node offers spec.gpu.resource "${resource}"; check the name or install the device plugin`,
        },
      };
    }
    const claimName = cr.spec.model.source.pvc.claimName;
    const claim = this.d.caches.getClaim(cr.metadata.namespace, claimName);
    if (!claim) {
      return {
        problem: {
          reason: reasons.ModelClaimMissing,
          message: `PersistentVolumeClaim "${claimName}" (spec.model.source.pvc.claimName) not found in ${cr.metadata.namespace}`,
        },
      };
    }
    return { claim };
  }

  private cached<T extends KubernetesObject>(cr: ZImageDeployment, kind: ChildKind): T | undefined {
    return this.d.caches.getChild<T>(kind, cr.metadata.namespace, cr.metadata.name);
  }

  /**
   * Apply the children that differ from the live objects. The supporting objects go first and
   * in parallel (the pods need their ServiceAccount to be admitted), the Deployment last. One
   * Event per reconcile lists what changed, instead of one per child.
   */
  private async applyChildren(
    cr: ZImageDeployment,
    effective: Effective,
  ): Promise<V1Deployment | undefined> {
    const support: [ChildKind | 'ServiceMonitor' | 'PrometheusRule', KubernetesObject][] = [
      ['ServiceAccount', buildServiceAccount(cr)],
      ['Role', buildRole(cr)],
      ['RoleBinding', buildRoleBinding(cr)],
      ['ConfigMap', buildConfigMap(cr, effective)],
      ['Service', buildService(cr)],
      ['PodDisruptionBudget', buildPodDisruptionBudget(cr)],
    ];
    if (this.d.monitoringAvailable()) {
      support.push(
        ['ServiceMonitor', buildServiceMonitor(cr)],
        ['PrometheusRule', buildPrometheusRule(cr)],
      );
    }
    const changes: { verb: 'Created' | 'Updated'; what: string }[] = [];
    await Promise.all(support.map(([kind, obj]) => this.ensure(kind, obj, changes)));
    const deployment = await this.ensure('Deployment', buildDeployment(cr, effective), changes);
    if (changes.length > 0) {
      const verb = changes.some((c) => c.verb === 'Created') ? reasons.Created : reasons.Updated;
      const message = changes.map((c) => `${c.verb.toLowerCase()} ${c.what}`).join(', ');
      this.d.log.info(
        { key: `${cr.metadata.namespace}/${cr.metadata.name}`, changes: message },
        'applied children',
      );
      await this.d.events.normal(cr, verb, message);
    }
    return deployment;
  }

  /** Apply one child unless the live object already holds everything we would set. */
  private async ensure(
    kind: string,
    obj: KubernetesObject,
    changes: { verb: 'Created' | 'Updated'; what: string }[],
  ): Promise<KubernetesObject | undefined> {
    const current = await this.current(kind, obj);
    // List results carry no apiVersion/kind per item (watch events do): compare without them.
    if (current && isSubset({ ...obj, apiVersion: undefined, kind: undefined }, current))
      return current;
    const result = await this.applyOrReplace(kind, obj, current);
    changes.push({ verb: current ? 'Updated' : 'Created', what: `${kind} ${obj.metadata?.name}` });
    return result;
  }

  /**
   * Apply; if the live object is in a state apply cannot repair (422: e.g. a hand edit changed
   * a list-map key, so our entry and the edited one now collide), replace it by deleting and
   * re-applying. Not for the Deployment: recreating it would restart every pod; its errors
   * go to the queue's backoff and the status instead.
   */
  private async applyOrReplace(
    kind: string,
    obj: KubernetesObject,
    current: KubernetesObject | undefined,
  ): Promise<KubernetesObject> {
    try {
      return await this.d.kube.apply(obj);
    } catch (err) {
      if (!current || kind === 'Deployment' || statusCode(err) !== 422) throw err;
      const message = String(err).split('\n')[0];
      this.d.log.warn(
        { kind, name: obj.metadata?.name, err: message },
        'apply cannot repair the live object; recreating it',
      );
      await this.d.kube.delete(current);
      return this.d.kube.apply(obj);
    }
  }

  private async current(
    kind: string,
    obj: KubernetesObject,
  ): Promise<KubernetesObject | undefined> {
    const ns = obj.metadata!.namespace!;
    const name = obj.metadata!.name!;
    if (kind === 'ServiceMonitor' || kind === 'PrometheusRule') {
      // No informer: the CRDs may come and go. One GET per reconcile (reads are cheap).
      return this.d.kube.read({
        apiVersion: obj.apiVersion!,
        kind,
        metadata: { name, namespace: ns },
      });
    }
    return this.d.caches.getChild(kind as ChildKind, ns, name);
  }

  private async writeStatus(
    raw: ZImageDeploymentObject,
    input: {
      problem?: Problem;
      degraded?: Problem | undefined;
      effective?: Effective;
      deployment?: V1Deployment | undefined;
    },
  ): Promise<void> {
    const status = observe({
      name: raw.metadata.name!,
      generation: raw.metadata.generation ?? 0,
      previous: raw.status,
      now: new Date(this.d.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      ...(input.problem ? { problem: input.problem } : {}),
      ...(input.degraded ? { degraded: input.degraded } : {}),
      ...(input.effective ? { effective: input.effective } : {}),
      ...(input.deployment ? { deployment: input.deployment } : {}),
    });
    if (isDeepStrictEqual(status, raw.status)) return;
    await this.d.kube.replaceStatus({ ...raw, status });
  }
}
