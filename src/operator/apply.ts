/**
 * Apply one child: nothing when the live object already holds what we would set, server-side
 * apply otherwise. A refusal becomes an Outcome (the reconcile turns it into a condition);
 * anything transient is thrown for the queue's backoff.
 */
import type { Clock } from '../contract/clock.ts';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ZImageDeployment } from './api/v1alpha1/types.ts';
import type { Outcome, PlannedChild } from './apply-plan.ts';
import { rejectionOf, type Rejection } from './child-errors.ts';
import { describeApiError, statusCode } from '../formats/api-status.ts';
import type { Caches, ChildKind } from './k8s/caches.ts';
import type { Kube } from './k8s/client.ts';
import { isSubset } from './k8s/compare.ts';
import { keyOf } from '../contract/object-key.ts';

/**
 * A refused child is applied again after this long, not before, whatever events arrive in
 * between (our own status write, pod churn, a relist). What refused it is the spec, which
 * changes with a new generation (a new desired object, tried at once), or the namespace's
 * quota, LimitRange or admission policy, which the operator does not watch: one try a minute
 * per refused child keeps the API load at ~1 request/min and a fixed quota converges within
 * a minute.
 */
export const rejectedRecheckMs = 60_000;

export interface ApplierDeps {
  kube: Pick<Kube, 'apply' | 'delete' | 'read' | 'dryRunCreate'>;
  caches: Pick<Caches, 'getChild'>;
  log: Logger;
  clock: Clock;
}

interface Remembered {
  fingerprint: string;
  rejection: Rejection;
  until: number;
}

/** A transient failure of one child's apply, named, in the API server's words; keeps the code. */
class ApplyError extends Error {
  readonly code: number;
  constructor(kind: string, name: string, cause: unknown) {
    super(`${kind} "${name}": ${describeApiError(cause)}`, { cause });
    this.code = statusCode(cause);
  }
}

function controlledBy(obj: KubernetesObject, uid: string): boolean {
  return obj.metadata?.ownerReferences?.some((r) => r.controller && r.uid === uid) ?? false;
}

export class ChildApplier {
  private readonly d: ApplierDeps;
  private readonly refused = new Map<string, Remembered>();

  constructor(deps: ApplierDeps) {
    this.d = deps;
  }

  /** Drop what is remembered for a deleted ZImageDeployment ("namespace/name"). */
  forget(ownerKey: string): void {
    for (const key of this.refused.keys())
      if (key.startsWith(`${ownerKey}|`)) this.refused.delete(key);
  }

  async ensure(owner: ZImageDeployment, child: PlannedChild): Promise<Outcome> {
    const { id, kind, obj } = child;
    const key = `${keyOf(owner.metadata)}|${id}`;
    const current = await this.current(kind, obj);
    // List results carry no apiVersion/kind per item (watch events do): compare without them.
    if (current && isSubset({ ...obj, apiVersion: undefined, kind: undefined }, current)) {
      this.refused.delete(key);
      return { status: 'unchanged', obj: current };
    }
    const fingerprint = JSON.stringify(obj);
    const now = this.d.clock.now();
    const last = this.refused.get(key);
    if (last && last.fingerprint === fingerprint && now < last.until)
      return { status: 'rejected', rejection: last.rejection };
    try {
      const applied = await this.applyOrReplace(owner, kind, obj, current);
      this.refused.delete(key);
      return { status: current ? 'updated' : 'created', obj: applied };
    } catch (err) {
      const name = obj.metadata?.name ?? '';
      const rejection = rejectionOf(kind, name, err);
      if (!rejection) throw new ApplyError(kind, name, err);
      this.refused.set(key, { fingerprint, rejection, until: now + rejectedRecheckMs });
      return { status: 'rejected', rejection };
    }
  }

  /**
   * Apply; if the live object is in a state apply cannot repair (422: e.g. a hand edit changed
   * a list-map key, so our entry and the edited one now collide), replace it by deleting and
   * re-applying, but only when that is the cause (see repairable).
   */
  private async applyOrReplace(
    owner: ZImageDeployment,
    kind: string,
    obj: KubernetesObject,
    current: KubernetesObject | undefined,
  ): Promise<KubernetesObject> {
    try {
      return await this.d.kube.apply(obj);
    } catch (err) {
      if (!current || !(await this.repairable(owner, kind, obj, current, err))) throw err;
      this.d.log.warn(
        { kind, name: obj.metadata?.name, err: describeApiError(err) },
        'apply cannot repair the live object; recreating it',
      );
      await this.d.kube.delete(current);
      return this.d.kube.apply(obj);
    }
  }

  /**
   * Deleting is right only when the live object is at fault and the object we build is not:
   * - never the Deployment (recreating it would restart every pod);
   * - only an object we control (a same-named object of someone else's is theirs);
   * - only when the desired object passes on its own: a dry-run create runs the same
   *   validation and admission and stops at AlreadyExists (409). Any other answer means the
   *   refusal comes from the object we build, that is from the spec or the namespace's
   *   policy, and deleting would only take a working child away.
   */
  private async repairable(
    owner: ZImageDeployment,
    kind: string,
    obj: KubernetesObject,
    current: KubernetesObject,
    err: unknown,
  ): Promise<boolean> {
    if (kind === 'Deployment' || statusCode(err) !== 422) return false;
    if (!controlledBy(current, owner.metadata.uid)) return false;
    try {
      await this.d.kube.dryRunCreate(obj);
      // Created in a dry run: the cache was stale and there is nothing to replace.
      return false;
    } catch (dryRun) {
      return statusCode(dryRun) === 409;
    }
  }

  private async current(
    kind: string,
    obj: KubernetesObject,
  ): Promise<KubernetesObject | undefined> {
    const namespace = obj.metadata!.namespace!;
    const name = obj.metadata!.name!;
    if (kind === 'ServiceMonitor' || kind === 'PrometheusRule') {
      // No informer: the CRDs may come and go. One GET per reconcile (reads are cheap).
      return this.d.kube.read({ apiVersion: obj.apiVersion!, kind, metadata: { name, namespace } });
    }
    return this.d.caches.getChild(kind as ChildKind, namespace, name);
  }
}
