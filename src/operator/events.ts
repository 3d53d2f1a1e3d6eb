/**
 * Kubernetes Events without spam: the same (object, type, reason, message) is recorded at
 * most once per 10 minutes. A reconcile loop that keeps hitting the same problem (a missing
 * claim, rechecked every 10 s) therefore leaves one Event per 10 minutes, not 60.
 *
 * Some messages change while the problem stays the same: "13 pods cannot be scheduled" grows
 * to 14 as the ReplicaSet creates pods for `replicas: 100` on a full pool, and each count was
 * a new Event (13 in 10 s). Those are keyed on (object, type, reason) only (`per: 'reason'`):
 * one Event per 10 minutes, and the moving counts live in status, which is always current.
 */
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../contract/clock.ts';
import type { ZImageDeploymentObject } from './api/v1alpha1/types.ts';
import type { Kube } from './k8s/client.ts';
import type { Problem } from './problem.ts';

const quietMs = 10 * 60_000;

export class EventRecorder {
  private readonly sent = new Map<string, number>();
  private readonly kube: Pick<Kube, 'event'>;
  private readonly log: Logger;
  private readonly clock: Clock;

  constructor(kube: Pick<Kube, 'event'>, log: Logger, clock: Clock = systemClock) {
    this.kube = kube;
    this.log = log;
    this.clock = clock;
  }

  normal(cr: ZImageDeploymentObject, reason: string, message: string): Promise<void> {
    return this.record(cr, 'Normal', reason, message);
  }

  /** `per: 'reason'` for problems whose message carries counts that move (see above). */
  warn(
    cr: ZImageDeploymentObject,
    problem: Problem,
    per: 'message' | 'reason' = 'message',
  ): Promise<void> {
    return this.record(cr, 'Warning', problem.reason, problem.message, per);
  }

  private async record(
    cr: ZImageDeploymentObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    per: 'message' | 'reason' = 'message',
  ): Promise<void> {
    const key = `${cr.metadata.uid}|${type}|${reason}${per === 'message' ? `|${message}` : ''}`;
    const now = this.clock.now();
    const last = this.sent.get(key);
    if (last !== undefined && now - last < quietMs) return;
    this.sent.set(key, now);
    if (this.sent.size > 10_000) this.prune(now);
    try {
      await this.kube.event(cr, type, reason, message);
    } catch (err) {
      // An Event is best effort: never fail a reconcile over one.
      this.log.warn({ err, reason }, 'could not record event');
    }
  }

  private prune(now: number): void {
    for (const [key, at] of this.sent) if (now - at >= quietMs) this.sent.delete(key);
  }
}
