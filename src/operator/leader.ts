/**
 * Leader election on a coordination.k8s.io Lease, after client-go's leaderelection package
 * (@kubernetes/client-node has none). Defaults are client-go's: lease 15 s, renew deadline
 * 10 s, retry 2 s.
 * - A candidate takes the lease when it is free or its holder's record has not changed for a
 *   full lease duration, judged by the candidate's own clock from when it last saw the record
 *   change (never by comparing clocks across machines).
 * - Writes carry the resourceVersion read, so two candidates cannot both win: one gets 409.
 * - The leader renews every retry period; if no renewal succeeds within the renew deadline it
 *   steps down (onLost), before the lease could expire for the others (10 s < 15 s).
 * - release() hands the lease over at once on a clean shutdown.
 */
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { systemClock, type Clock, type TimerHandle } from '../contract/clock.ts';
import type { Metrics } from './metrics.ts';
import { statusCode } from '../formats/api-status.ts';
import { instrumented } from './k8s/instrument.ts';
import { timedConfiguration } from './k8s/timeouts.ts';

/**
 * Lease times are metav1.MicroTime, which the API server parses with exactly six fractional
 * digits; the client library would send a Date with three ("...:05.420Z") and get a 400. A
 * string passes through its serializer untouched.
 */
export function microTime(at: Date | number): Date {
  const iso = new Date(at).toISOString(); // 2026-11-26T04:47:24.420Z
  return iso.replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}

export interface LeaderOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
  metrics: Metrics;
  /** Default: the system clock. */
  clock?: Clock;
  onStarted: () => void;
  onLost: () => void;
}

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly o: Required<LeaderOptions>;
  private observed: { holder: string; renew: string; at: number } | undefined;
  private leading = false;
  private lastRenew = 0;
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(options: LeaderOptions) {
    this.o = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      clock: systemClock,
      ...options,
    };
    // Each Lease call must end well inside the renew deadline, or a stalled connection
    // would keep a deposed leader believing it still leads.
    this.api = new CoordinationV1Api(
      timedConfiguration(options.kubeConfig, this.o.retryPeriodMs * 2),
    );
  }

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    const tick = async () => {
      if (this.stopped) return;
      await this.step();
      if (!this.stopped)
        this.timer = this.o.clock.setTimeout(() => void tick(), this.o.retryPeriodMs);
    };
    void tick();
  }

  /** Stop campaigning; if leading, give the lease up so another replica takes over at once. */
  async release(): Promise<void> {
    this.stopped = true;
    this.o.clock.clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    this.o.metrics.leader.set(0);
    // A renewal still in flight when release starts writes between our read and replace
    // (409): read again, a few times, rather than leave the standby a full lease to wait.
    for (let attempt = 1; ; attempt++) {
      try {
        const lease = await this.read();
        if (lease?.spec?.holderIdentity !== this.o.identity) return;
        lease.spec = {
          ...lease.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          renewTime: microTime(this.o.clock.now()),
          ...(lease.spec.acquireTime ? { acquireTime: microTime(lease.spec.acquireTime) } : {}),
        };
        await this.replace(lease);
        this.o.log.info('released the leader lease');
        return;
      } catch (err) {
        if (statusCode(err) === 409 && attempt < 3) continue;
        this.o.log.warn({ err }, 'could not release the leader lease; it expires by itself');
        return;
      }
    }
  }

  private async step(): Promise<void> {
    const now = this.o.clock.now();
    let acquired = false;
    try {
      acquired = await this.tryAcquireOrRenew(now);
    } catch (err) {
      this.o.log.warn({ err: String(err) }, 'leader election: lease update failed');
    }
    if (acquired) {
      this.lastRenew = now;
      if (!this.leading) {
        this.leading = true;
        this.o.metrics.leader.set(1);
        this.o.log.info({ identity: this.o.identity }, 'became leader');
        this.o.onStarted();
      }
    } else if (this.leading && now - this.lastRenew > this.o.renewDeadlineMs) {
      this.leading = false;
      this.stopped = true;
      this.o.metrics.leader.set(0);
      this.o.log.error(
        { renewDeadlineMs: this.o.renewDeadlineMs },
        'failed to renew the leader lease in time; stepping down',
      );
      this.o.onLost();
    }
  }

  private async tryAcquireOrRenew(now: number): Promise<boolean> {
    const lease = await this.read();
    const durationSeconds = Math.round(this.o.leaseDurationMs / 1000);
    if (!lease) return this.create(now, durationSeconds);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const observedAt = this.observe(holder, spec.renewTime, now);
    const heldByOther = holder !== '' && holder !== this.o.identity;
    const leaseMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (heldByOther && observedAt + leaseMs > now) return false;

    const mine = holder === this.o.identity;
    lease.spec = {
      ...spec,
      holderIdentity: this.o.identity,
      leaseDurationSeconds: durationSeconds,
      renewTime: microTime(now),
      acquireTime: microTime(mine && spec.acquireTime ? spec.acquireTime : now),
      leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
    };
    await this.replace(lease);
    return true;
  }

  /** When (by our clock) we first saw the lease record as it is now. */
  private observe(holder: string, renewTime: Date | undefined, now: number): number {
    const renew = renewTime ? new Date(renewTime).toISOString() : '';
    if (!this.observed || this.observed.holder !== holder || this.observed.renew !== renew) {
      this.observed = { holder, renew, at: now };
    }
    return this.observed.at;
  }

  private async create(now: number, durationSeconds: number): Promise<boolean> {
    await instrumented(this.o.metrics, 'create', () =>
      this.api.createNamespacedLease({
        namespace: this.o.namespace,
        body: {
          metadata: { name: this.o.name, namespace: this.o.namespace },
          spec: {
            holderIdentity: this.o.identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        },
      }),
    );
    return true;
  }

  private async read(): Promise<V1Lease | undefined> {
    try {
      return await instrumented(this.o.metrics, 'get', () =>
        this.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace }),
      );
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  private replace(lease: V1Lease): Promise<V1Lease> {
    return instrumented(this.o.metrics, 'update', () =>
      this.api.replaceNamespacedLease({
        name: this.o.name,
        namespace: this.o.namespace,
        body: lease,
      }),
    );
  }
}
