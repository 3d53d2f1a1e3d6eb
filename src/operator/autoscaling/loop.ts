/**
 * The autoscaler's tick: sample every autoscaled object's signals in one go (one scrape per
 * pod and exporter, one batch of Prometheus queries per URL, whatever the number of objects),
 * hand each object whose interval is up its sample, and enqueue it. The decision itself runs
 * in the reconcile (the only writer of status and children): it reads the state back from the
 * freshest cached object, so a sample never acts twice and a 409 simply decides again.
 *
 * Only the leader ticks. The tick period is the shortest spec.autoscaling.interval of the
 * objects (1 s by default), never shorter than 100 ms; the next tick is scheduled when the
 * current one ends, so a slow source stretches ticks instead of piling them up.
 */
import { demandWindows } from '../policy/demand.ts';
import { policySpecOf } from '../policy/spec.ts';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../contract/clock.ts';
import { durationSeconds } from '../api/v1alpha1/schema-kit.ts';
import { zimageDeploymentSpec, type ZImageDeploymentSpec } from '../api/v1alpha1/spec.ts';
import type { ZImageDeploymentObject } from '../api/v1alpha1/types.ts';
import type { CachedPod } from '../k8s/cached.ts';
import { type SignalSample, type SignalSource, type SignalTarget } from '../signals/sample.ts';
import { sampledPods, type Sampled } from './signals.ts';
import { keyOf } from '../../contract/object-key.ts';

export interface AutoscalerLoopDeps {
  /** Objects and pods as the informer caches hold them. */
  listCrs: () => ZImageDeploymentObject[];
  podsOf: (namespace: string, name: string) => CachedPod[];
  /** The router pods of an object (read only while its spec.router.enabled). */
  routersOf: (namespace: string, name: string) => CachedPod[];
  direct: SignalSource;
  prometheus: SignalSource;
  /** Whether this process leads (standbys keep caches warm and never sample). */
  leading: () => boolean;
  enqueue: (key: string) => void;
  clock: Clock;
  log: Logger;
  /** Told of every sample a tick took (metrics: sample age at use). */
  onSample?: (sample: SignalSample) => void;
}

/** A sample waiting for its object's reconcile. `seq` tells a newer one from the one taken. */
export interface PendingSample extends Sampled {
  seq: number;
}

interface Autoscaled {
  key: string;
  spec: ZImageDeploymentSpec;
  target: SignalTarget;
}

const minTickMs = 100;
const idleTickMs = 1000;

export class AutoscalerLoop {
  private readonly d: AutoscalerLoopDeps;
  private readonly pending = new Map<string, PendingSample>();
  /** When each object last got a sample (its interval counts from there). */
  private readonly lastDue = new Map<string, number>();
  /**
   * Parsed specs by cached object: the informer hands out the same object until it changes,
   * so 1000 objects are not parsed anew every tick (zod, ~0.2 ms each).
   */
  private readonly parsed = new WeakMap<object, ZImageDeploymentSpec | undefined>();
  private timer: TimerHandle | undefined;
  private running = false;
  private seq = 0;

  constructor(deps: AutoscalerLoopDeps) {
    this.d = deps;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    this.d.clock.clearTimeout(this.timer);
  }

  /** The newest sample for `key` not yet decided on. */
  take(key: string): PendingSample | undefined {
    return this.pending.get(key);
  }

  /** The reconcile decided on `seq` and wrote it: drop it unless a newer one came meanwhile. */
  consumed(key: string, seq: number): void {
    if (this.pending.get(key)?.seq === seq) this.pending.delete(key);
  }

  /** One tick now (tests and benches drive it directly). */
  async tick(): Promise<{ objects: number; requests: number; periodMs: number }> {
    const now = this.d.clock.now();
    const objects = this.autoscaled();
    const live = new Set(objects.map((o) => o.key));
    for (const key of [...this.lastDue.keys()]) if (!live.has(key)) this.forget(key);
    const periodMs = Math.max(
      minTickMs,
      Math.min(idleTickMs, ...objects.map((o) => intervalMs(o.spec))),
    );
    if (objects.length === 0) return { objects: 0, requests: 0, periodMs };
    const direct = objects.filter((o) => o.spec.autoscaling.metrics.direct).map((o) => o.target);
    const prometheus = objects.filter((o) => o.target.prometheusUrl).map((o) => o.target);
    const [fromDirect, fromPrometheus] = await Promise.all([
      direct.length > 0 ? this.d.direct.sample(direct, now) : undefined,
      prometheus.length > 0 ? this.d.prometheus.sample(prometheus, now) : undefined,
    ]);
    for (const s of [fromDirect, fromPrometheus]) if (s) this.d.onSample?.(s);
    for (const o of objects) {
      if (!this.due(o, now, periodMs)) continue;
      this.hand(o.key, now, fromDirect, fromPrometheus);
    }
    const requests = (fromDirect?.requests ?? 0) + (fromPrometheus?.requests ?? 0);
    return { objects: objects.length, requests, periodMs };
  }

  /** Half a tick of slack: a 1 s interval sampled at 0.999 s is due, not a tick late. */
  private due(o: Autoscaled, now: number, periodMs: number): boolean {
    const last = this.lastDue.get(o.key);
    return last === undefined || now - last >= intervalMs(o.spec) - periodMs / 2;
  }

  /** Give `key` this tick's sample and enqueue it for its reconcile. */
  private hand(key: string, now: number, ...samples: (SignalSample | undefined)[]): void {
    this.lastDue.set(key, now);
    const sample: PendingSample = { seq: ++this.seq, at: now };
    for (const s of samples) {
      const got = s?.byKey.get(key);
      if (got) sample[s!.source] = got;
    }
    this.pending.set(key, sample);
    this.d.enqueue(key);
  }

  private forget(key: string): void {
    this.lastDue.delete(key);
    this.pending.delete(key);
  }

  /** Objects in DryRun or Enforce whose spec parses (an invalid one has its status already). */
  private autoscaled(): Autoscaled[] {
    return this.d.listCrs().flatMap((cr) => {
      const spec = this.specOf(cr);
      if (!spec || spec.autoscaling.mode === 'Off') return [];
      const { namespace = '', name = '' } = cr.metadata;
      const url = spec.autoscaling.metrics.prometheus?.url;
      const windows = policySpecOf(spec)
        .rules.map(demandWindows)
        .find((w) => w !== undefined);
      const target: SignalTarget = {
        namespace,
        name,
        pods: sampledPods(this.d.podsOf(namespace, name)),
        ...(spec.router.enabled ? { routers: sampledPods(this.d.routersOf(namespace, name)) } : {}),
        ...(url ? { prometheusUrl: url } : {}),
        ...(windows ? { demandWindows: windows } : {}),
      };
      return [{ key: keyOf({ namespace, name }), spec, target }];
    });
  }

  private specOf(cr: ZImageDeploymentObject): ZImageDeploymentSpec | undefined {
    if (this.parsed.has(cr)) return this.parsed.get(cr);
    const parsed = zimageDeploymentSpec.safeParse(cr.spec);
    const spec = parsed.success ? parsed.data : undefined;
    this.parsed.set(cr, spec);
    return spec;
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = this.d.clock.setTimeout(() => void this.run(), ms);
  }

  private async run(): Promise<void> {
    const started = this.d.clock.now();
    let periodMs = idleTickMs;
    try {
      if (this.d.leading()) periodMs = (await this.tick()).periodMs;
    } catch (err) {
      // The sources never reject; this is a bug or a cache gone wrong: log and tick on.
      this.d.log.error({ err: String(err) }, 'autoscaler tick failed');
    }
    this.schedule(Math.max(0, periodMs - (this.d.clock.now() - started)));
  }
}

function intervalMs(spec: ZImageDeploymentSpec): number {
  return Math.max(minTickMs, durationSeconds(spec.autoscaling.interval) * 1000);
}
