/**
 * A fake API boundary for the Reconciler (unit tests, after Knative's TableTest): informer
 * caches the test fills, and an API that records every call, answers as the row says, and
 * feeds what it stored back into the caches as the informers would.
 */
import { FakeClock } from './fake-clock.ts';
import { ApiException, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { childPlan } from '../../src/operator/apply-plan.ts';
import { defaultRouterImage } from '../../src/operator/builders/router.ts';
import { zimageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import type {
  ZImageDeployment,
  ZImageDeploymentObject,
} from '../../src/operator/api/v1alpha1/types.ts';
import { EventRecorder } from '../../src/operator/events.ts';
import { trimPod, type CachedPod } from '../../src/operator/k8s/cached.ts';
import type { ChildKind } from '../../src/operator/k8s/caches.ts';
import { effectiveOf } from '../../src/operator/autoscaling/decision.ts';
import type { PendingSample } from '../../src/operator/autoscaling/loop.ts';
import {
  Reconciler,
  type ReconcilerCaches,
  type ReconcilerKube,
} from '../../src/operator/reconcile.ts';
import { keyOf } from '../../src/contract/object-key.ts';
import type { PrometheusUrlPolicy } from '../../src/operator/signals/prometheus/url-policy.ts';

/** An API error as the client throws it: the code and the Status body as text. */
export function apiError(
  code: number,
  message: string,
  extra: { reason?: string; causes?: { field: string; message: string; reason?: string }[] } = {},
): ApiException<string> {
  const body = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason:
      extra.reason ?? (code === 422 ? 'Invalid' : code === 403 ? 'Forbidden' : 'InternalError'),
    ...(extra.causes ? { details: { causes: extra.causes } } : {}),
    code,
  };
  return new ApiException(code, 'Unsuccessful HTTP Request', JSON.stringify(body), {});
}

const deepFreeze = <T>(o: T): T => {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
};

const childKey = (kind: string, namespace: string, name: string) =>
  `${kind}/${keyOf({ namespace, name })}`;
const refOf = (o: KubernetesObject) => `${o.kind}/${o.metadata?.name}`;

/** What the row's API answers: an error to throw, or undefined for success. */
export interface Answers {
  apply?: (obj: KubernetesObject) => Error | undefined;
  dryRun?: (obj: KubernetesObject) => Error | undefined;
  status?: () => Error | undefined;
  scale?: () => Error | undefined;
}

export class FakeWorld implements ReconcilerCaches {
  readonly crs = new Map<string, ZImageDeploymentObject>();
  readonly children = new Map<string, KubernetesObject>();
  readonly claims = new Set<string>(['ml/zimage-models']);
  readonly resources = new Set<string>(['nvidia.com/gpu']);
  pods: V1Pod[] = [];
  /** Every API call in order: "apply Deployment/turbo", "applied ...", "status", "event ...". */
  readonly calls: string[] = [];
  readonly events: { type: string; reason: string; message: string }[] = [];
  statusWrites: NonNullable<ZImageDeploymentObject['status']>[] = [];
  answers: Answers = {};
  readonly clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
  private rv = 100;

  /** The ZImageDeployment in the cache, frozen: a reconciler that writes into it throws. */
  putCr(obj: ZImageDeploymentObject): void {
    const copy = structuredClone(obj);
    copy.metadata.resourceVersion = String(++this.rv);
    this.crs.set(keyOf(obj.metadata), deepFreeze(copy));
  }

  putChild(obj: KubernetesObject): void {
    const { namespace, name } = obj.metadata!;
    this.children.set(childKey(obj.kind!, namespace!, name!), deepFreeze(structuredClone(obj)));
  }

  /** Every child as the reconciler would build it for the cached object (no monitoring). */
  settle(key = 'ml/turbo'): void {
    const cr = this.parsed(key);
    for (const child of childPlan(cr, effectiveOf(cr), false, { image: defaultRouterImage }))
      this.putChild(child.obj);
  }

  parsed(key = 'ml/turbo'): ZImageDeployment {
    const raw = this.crs.get(key)!;
    return { ...(raw as ZImageDeployment), spec: zimageDeploymentSpec.parse(raw.spec) };
  }

  /** Samples handed to the reconciler as the autoscaler's loop would (key -> sample). */
  readonly samples = new Map<string, PendingSample>();

  reconciler(
    options: { autoscaler?: boolean; prometheusUrlPolicy?: PrometheusUrlPolicy } = {},
  ): Reconciler {
    const log = pino({ level: 'silent' });
    const samples = this.samples;
    return new Reconciler({
      kube: this.kube(),
      caches: this,
      events: new EventRecorder(this.kube(), log, this.clock),
      log,
      monitoringAvailable: () => false,
      clock: this.clock,
      ...(options.prometheusUrlPolicy ? { prometheusUrlPolicy: options.prometheusUrlPolicy } : {}),
      ...(options.autoscaler
        ? {
            autoscaler: {
              loop: {
                take: (key: string) => samples.get(key),
                consumed: (key: string, seq: number) => {
                  if (samples.get(key)?.seq === seq) samples.delete(key);
                },
              },
            },
          }
        : {}),
    });
  }

  // ReconcilerCaches
  getCr(namespace: string, name: string) {
    return this.crs.get(keyOf({ namespace, name }));
  }
  getClaim(namespace: string, name: string) {
    return this.claims.has(keyOf({ namespace, name }))
      ? { metadata: { name, namespace } }
      : undefined;
  }
  getChild<T extends KubernetesObject>(kind: ChildKind, namespace: string, name: string) {
    return this.children.get(childKey(kind, namespace, name)) as T | undefined;
  }
  hasResource(resource: string): boolean {
    return this.resources.has(resource);
  }
  /** Trimmed as the pod informer trims them: a reader of a dropped field sees it missing. */
  podsOf(namespace: string, crName: string): CachedPod[] {
    return this.pods
      .filter(
        (p) =>
          p.metadata?.namespace === namespace &&
          p.metadata.labels?.['app.kubernetes.io/instance'] === crName,
      )
      .map(trimPod);
  }

  private kube(): ReconcilerKube {
    // Every answer comes a turn of the event loop later, as a real request would, so that
    // ordering between applies is really exercised.
    const later = () => new Promise<void>((r) => setImmediate(r));
    return {
      apply: async <T extends KubernetesObject>(obj: T): Promise<T> => {
        this.calls.push(`apply ${refOf(obj)}`);
        await later();
        const err = this.answers.apply?.(obj);
        if (err) throw err;
        this.calls.push(`applied ${refOf(obj)}`);
        this.putChild(obj);
        return obj;
      },
      delete: async (obj) => {
        this.calls.push(`delete ${refOf(obj)}`);
        await later();
        this.children.delete(childKey(obj.kind!, obj.metadata!.namespace!, obj.metadata!.name!));
      },
      read: () => Promise.resolve(undefined),
      dryRunCreate: async (obj) => {
        this.calls.push(`dryrun ${refOf(obj)}`);
        await later();
        const err = this.answers.dryRun?.(obj);
        if (err) throw err;
      },
      replaceStatus: async (cr) => {
        this.calls.push('status');
        await later();
        const err = this.answers.status?.();
        if (err) throw err;
        this.statusWrites.push(cr.status!);
        this.putCr(cr);
        return cr;
      },
      replaceScale: async (cr, replicas) => {
        this.calls.push(`scale ${replicas}`);
        await later();
        const err = this.answers.scale?.();
        if (err) throw err;
        // The scale subresource changes spec.replicas of the stored object, nothing else.
        const stored = this.crs.get(keyOf(cr.metadata))!;
        const spec = { ...(stored.spec as Record<string, unknown>), replicas };
        this.putCr({
          ...stored,
          spec,
          metadata: { ...stored.metadata, generation: (stored.metadata.generation ?? 0) + 1 },
        });
        return {};
      },
      event: (_cr, type, reason, message) => {
        this.calls.push(`event ${type} ${reason}`);
        this.events.push({ type, reason, message });
        return Promise.resolve();
      },
    };
  }

  /** Forget the calls so far (after a warm-up run). */
  resetCalls(): void {
    this.calls.length = 0;
    this.events.length = 0;
    this.statusWrites = [];
  }
}
