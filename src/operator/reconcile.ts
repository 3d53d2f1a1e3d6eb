/**
 * Level-based reconcile of one ZImageDeployment: read the world (informer caches), build the
 * desired children with pure builders, apply only what differs (server-side apply, one field
 * manager), write status once through the subresource, and write nothing when nothing changed.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Clock } from '../contract/clock.ts';
import type { ZImageDeploymentStatus } from './api/v1alpha1/status.ts';
import { zimageDeploymentName } from './api/v1alpha1/object-name.ts';
import { zimageDeploymentSpec } from './api/v1alpha1/spec.ts';
import type { Effective, ZImageDeployment, ZImageDeploymentObject } from './api/v1alpha1/types.ts';
import { ChildApplier, rejectedRecheckMs, type ApplierDeps } from './apply.ts';
import { childPlan, isApplied, runPlan, type ChildId, type Outcome } from './apply-plan.ts';
import type { RouterImage } from './builders/router.ts';
import type { PolicyPeers } from './builders/network-policy.ts';
import { pruneTurnedOff, routerImage, routerStatusInput } from './router-placement.ts';
import { rejectionProblem, type Rejection } from './child-errors.ts';
import type { EventRecorder } from './events.ts';
import { describeApiError, statusCode } from '../formats/api-status.ts';
import type { CachedPod } from './k8s/cached.ts';
import type { Caches } from './k8s/caches.ts';
import type { Kube } from './k8s/client.ts';
import { observe, type ObserveInput } from './observe.ts';
import type { Problem } from './problem.ts';
import { degraded, preflight } from './preflight.ts';
import type { WorkResult } from './queue.ts';
import { isoSeconds } from './policy/time.ts';
import { reasons } from './reasons.ts';
import { effectiveOf } from './autoscaling/decision.ts';
import { AutoscalerStep } from './autoscaling/step.ts';
import type { AutoscalerLoop } from './autoscaling/loop.ts';
import type { AutoscalerMetrics } from './autoscaling/metrics.ts';
import type { PrometheusUrlPolicy } from './signals/prometheus/url-policy.ts';
import { keyOf, parseKey } from '../contract/object-key.ts';

/**
 * Recheck blocked objects (missing claim, unknown GPU) this often. Claims and nodes are watched,
 * so this is a safety net against a missed event or a cache still refilling after an API
 * server restart; the recheck reads only caches, so 10 s costs nothing.
 */
const blockedRecheckMs = 10_000;

/**
 * A 409 means our cached copy is behind the API server by at least one write. The informer's
 * event for that write enqueues the object anyway (typically within ~100 ms); this delayed
 * retry only covers a lost event: at most one status write a second until the watchdog (60 s)
 * replaces a stalled informer.
 */
const conflictRetryMs = 1_000;

/**
 * How long pods must stay unschedulable before the Warning: kube-scheduler's longest retry
 * backoff (podMaxBackoffSeconds, 10 s). In a maxSurge-0 rollout on a full GPU pool the new pod
 * waits for the old pod's GPU; once that pod is gone it is no longer "terminating" but the
 * scheduler has not placed its successor yet, and a Warning fired for that moment.
 */
const unschedulableGraceMs = 10_000;

/** Below-Deployment reasons worth an Event on the object (the controllers' own land elsewhere). */
const belowReasons: ReadonlySet<string> = new Set([
  reasons.ReplicaFailure,
  reasons.PodsUnschedulable,
  reasons.ProgressDeadlineExceeded,
]);

/** The API calls the reconciler makes (a fake one in the unit table test). */
export type ReconcilerKube = ApplierDeps['kube'] &
  Pick<Kube, 'replaceStatus' | 'event' | 'replaceScale'>;
/** What the reconciler reads from the informer caches. */
export type ReconcilerCaches = Pick<
  Caches,
  'getCr' | 'getClaim' | 'getChild' | 'hasResource' | 'podsOf'
>;

export interface ReconcilerDeps {
  kube: ReconcilerKube;
  caches: ReconcilerCaches;
  events: EventRecorder;
  log: Logger;
  /** Whether monitoring.coreos.com is served (kept fresh by the operator's poller). */
  monitoringAvailable: () => boolean;
  clock: Clock;
  /** The router's image (operator flag --router-image); default defaultRouterImage. */
  router?: RouterImage;
  /** Where the operator and Prometheus run, for the NetworkPolicies; default defaultPolicyPeers. */
  policyPeers?: PolicyPeers;
  /** Which Prometheus URLs specs may name (--prometheus-url-allow*); absent: any. */
  prometheusUrlPolicy?: PrometheusUrlPolicy;
  /** The autoscaler's samples (absent: objects run as their spec says, as in Off mode). */
  autoscaler?: {
    loop: Pick<AutoscalerLoop, 'take' | 'consumed'>;
    metrics?: AutoscalerMetrics;
  };
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

/**
 * status.signals is a window onto the last decision's readings, refreshed at most this often
 * on its own: a status write a second per object (the autoscaler's interval) would be 1000
 * writes/s at 1000 objects. Anything else that changes (a rule's state, an action, a
 * condition) is written at once; the live values are the operator's metrics.
 */
const signalsRefreshMs = 30_000;

function onlySignalsMoved(
  next: ZImageDeploymentStatus,
  previous: ZImageDeploymentStatus | undefined,
  now: number,
): boolean {
  const written = previous?.signals?.sampledAt;
  if (!previous || written === undefined || now - Date.parse(written) >= signalsRefreshMs) {
    return false;
  }
  return isDeepStrictEqual({ ...next, signals: undefined }, { ...previous, signals: undefined });
}

export class Reconciler {
  private readonly d: ReconcilerDeps;
  private readonly applier: ChildApplier;
  private readonly autoscaler: AutoscalerStep | undefined;
  /** When each object's pods were first seen unschedulable (warnBelow's grace). */
  private readonly unschedulableSince = new Map<string, number>();

  constructor(deps: ReconcilerDeps) {
    this.d = deps;
    this.applier = new ChildApplier(deps);
    this.autoscaler = deps.autoscaler
      ? new AutoscalerStep({
          loop: deps.autoscaler.loop,
          metrics: deps.autoscaler.metrics,
          kube: deps.kube,
          events: deps.events,
          log: deps.log,
          clock: deps.clock,
        })
      : undefined;
  }

  async reconcile(key: string): Promise<WorkResult> {
    const { namespace, name } = parseKey(key);
    const raw = this.d.caches.getCr(namespace, name);
    if (!raw) {
      // Deleted: the garbage collector removes the children through their ownerReferences.
      this.applier.forget(key);
      this.autoscaler?.forget(key);
      this.unschedulableSince.delete(key);
      return {};
    }
    try {
      const result = await this.reconcileObject(raw);
      this.d.log.debug({ key, requeueAfterMs: result.requeueAfterMs }, 'reconciled');
      return result;
    } catch (err) {
      const code = statusCode(err);
      // Routine: someone wrote first. Re-read (the informer brings the newer object) and retry.
      if (code === 409) {
        this.d.log.debug({ key, err: describeApiError(err) }, 'conflict; retrying');
        return { requeueAfterMs: conflictRetryMs };
      }
      // Transient (the queue retries with backoff); say so on the object, rate-limited. Not
      // for throttling (429): an Event would only add to the load.
      if (code !== 429) {
        const message = describeApiError(err);
        await this.d.events.warn(raw, { reason: reasons.ReconcileFailed, message });
      }
      throw err;
    }
  }

  private async reconcileObject(raw: ZImageDeploymentObject): Promise<WorkResult> {
    const parsed = zimageDeploymentSpec.safeParse(raw.spec);
    // The name too: an object admitted under an older CRD may hold a name no child can take.
    const named = zimageDeploymentName.safeParse(raw);
    if (!parsed.success || !named.success) return this.invalid(raw, [named, parsed]);
    // A copy with the parsed spec: `raw` is the informer cache's own object, shared by every
    // reader; writing into it would corrupt the cache.
    const cr: ZImageDeployment = { ...(raw as ZImageDeployment), spec: parsed.data };
    const { namespace, name } = cr.metadata;
    const deployment = () => this.d.caches.getChild<V1Deployment>('Deployment', namespace, name);
    const pods = this.d.caches.podsOf(namespace, name);
    const { auto, effective } = this.running(cr, pods);

    const { problem, claim } = preflight(cr, this.d.caches);
    if (problem) return this.blocked(raw, problem, effective, deployment());

    const outcomes = await runPlan(
      childPlan(
        cr,
        effective,
        this.d.monitoringAvailable(),
        routerImage(this.d.router),
        this.d.policyPeers,
      ),
      (child) => this.applier.ensure(cr, child),
    );
    // When the cluster has the decision (the Deployment's replicas, the ConfigMap, the template).
    const appliedAt = this.d.clock.now();
    const deleted = await pruneTurnedOff(cr, this.d);
    await this.recordChanges(cr, outcomes, deleted);
    for (const o of outcomes.values()) if (o.status === 'failed') throw o.error;
    const applied = outcomes.get('Deployment');
    const live = applied && isApplied(applied) ? (applied.obj as V1Deployment) : deployment();
    const rejections = [...outcomes.values()].flatMap((o) =>
      o.status === 'rejected' ? [o.rejection] : [],
    );
    if (rejections.length > 0) return this.rejected(raw, rejections, live, pods);

    const status = await this.writeStatus(raw, {
      effective,
      spec: cr.spec,
      deployment: live,
      pods,
      degraded: degraded(cr, claim, this.d.prometheusUrlPolicy),
      router: routerStatusInput(cr, outcomes.get('RouterDeployment'), this.d),
      ...(auto ? { autoscaler: auto.outcome } : {}),
    });
    if (auto) await this.autoscaler?.applied(cr, auto, effective, appliedAt);
    return this.warnBelow(raw, status);
  }

  /** What runs: a fresh sample (or Off mode) decides now; otherwise what status holds. */
  private running(cr: ZImageDeployment, pods: readonly CachedPod[]) {
    const auto = this.autoscaler?.decide(cr, pods);
    const effective = auto?.outcome.effective ?? effectiveOf(cr, cr.status?.autoscaler);
    return { auto, effective };
  }

  /** Leave running children untouched: a missing claim or GPU type must not take pods down. */
  private async blocked(
    raw: ZImageDeploymentObject,
    problem: Problem,
    effective: Effective,
    deployment: V1Deployment | undefined,
  ): Promise<WorkResult> {
    this.d.log.info({ key: keyOf(raw.metadata), ...problem }, 'blocked');
    await this.writeStatus(raw, { problem, effective, deployment });
    await this.d.events.warn(raw, problem);
    return { requeueAfterMs: blockedRecheckMs };
  }

  /**
   * Trouble below the Deployment (a ReplicaSet, the scheduler) is worth an Event on the object;
   * unschedulable pods only once they have been so for the scheduler's longest backoff (status
   * says it at once).
   */
  private async warnBelow(
    raw: ZImageDeploymentObject,
    status: ZImageDeploymentStatus,
  ): Promise<WorkResult> {
    const key = keyOf(raw.metadata);
    const ready = status.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status === 'False' && ready.reason === reasons.PodsUnschedulable) {
      const now = this.d.clock.now();
      const since = this.unschedulableSince.get(key) ?? now;
      this.unschedulableSince.set(key, since);
      const left = since + unschedulableGraceMs - now;
      if (left > 0) return { requeueAfterMs: left };
    } else this.unschedulableSince.delete(key);
    if (ready?.status === 'False' && belowReasons.has(ready.reason)) {
      // Per reason: the message counts pods and names one of them, both of which move while
      // the problem stays (status, rewritten on every change, keeps the counts).
      const problem = { reason: ready.reason as Problem['reason'], message: ready.message };
      await this.d.events.warn(raw, problem, 'reason');
    }
    return {};
  }

  /** Terminal: retrying cannot fix a spec. The next edit of the object triggers a new run. */
  private async invalid(
    raw: ZImageDeploymentObject,
    [named, parsed]: [{ error?: z.ZodError | undefined }, { error?: z.ZodError | undefined }],
  ): Promise<WorkResult> {
    const message = [
      ...(named.error ? named.error.issues.map((i) => `metadata.name: ${i.message}`) : []),
      ...(parsed.error ? [describeIssues(parsed.error)] : []),
    ].join('; ');
    const problem = { reason: reasons.InvalidSpec, message };
    await this.writeStatus(raw, { problem });
    await this.d.events.warn(raw, problem);
    return {};
  }

  /**
   * Children the API server refused: Ready=False in its words, one Event, the running
   * children left as they were (the Deployment is not applied while anything it needs is
   * refused) and a slow recheck instead of the backoff queue's hot retries. `effective` is
   * not passed: what runs is still what last applied.
   */
  private async rejected(
    raw: ZImageDeploymentObject,
    rejections: readonly Rejection[],
    deployment: V1Deployment | undefined,
    pods: readonly CachedPod[],
  ): Promise<WorkResult> {
    const problem = rejectionProblem(rejections, deployment);
    this.d.log.info({ key: keyOf(raw.metadata), reason: problem.reason }, problem.message);
    await this.writeStatus(raw, { problem, deployment, pods });
    await this.d.events.warn(raw, problem);
    return { requeueAfterMs: rejectedRecheckMs };
  }

  /** One Event per reconcile lists what changed, instead of one per child. */
  private async recordChanges(
    cr: ZImageDeployment,
    outcomes: ReadonlyMap<ChildId, Outcome>,
    deleted: readonly string[],
  ): Promise<void> {
    const changes = [
      ...[...outcomes].flatMap(([id, o]) =>
        o.status === 'created' || o.status === 'updated'
          ? [{ verb: o.status, what: `${id} ${o.obj.metadata?.name}` }]
          : [],
      ),
      ...deleted.map((what) => ({ verb: 'deleted', what })),
    ];
    if (changes.length === 0) return;
    const verb = changes.some((c) => c.verb === 'created') ? reasons.Created : reasons.Updated;
    const message = changes.map((c) => `${c.verb} ${c.what}`).join(', ');
    this.d.log.info({ key: keyOf(cr.metadata), changes: message }, 'applied children');
    await this.d.events.normal(cr, verb, message);
  }

  /** Compute the status and write it when it differs (a 409 goes to reconcile's retry). */
  private async writeStatus(
    raw: ZImageDeploymentObject,
    input: Omit<ObserveInput, 'name' | 'generation' | 'previous' | 'now'>,
  ): Promise<ZImageDeploymentStatus> {
    const status = observe({
      ...input,
      name: raw.metadata.name!,
      generation: raw.metadata.generation ?? 0,
      previous: raw.status,
      now: isoSeconds(this.d.clock.now()),
    });
    const changed = !isDeepStrictEqual(status, raw.status);
    if (changed && !onlySignalsMoved(status, raw.status, this.d.clock.now())) {
      await this.d.kube.replaceStatus({ ...raw, status });
    }
    return status;
  }
}
