/**
 * The autoscaler's part of a reconcile: decide on the loop's fresh sample (or in Off mode on
 * nothing), and once the children and status hold the decision, set spec.replicas through the
 * scale subresource, announce each action and each turned condition (Events, logs) and keep
 * the metrics. The Reconciler calls it; the writes stay the Reconciler's own order.
 */
import type { CachedPod } from '../k8s/cached.ts';
import type { Logger } from 'pino';
import type { Clock } from '../../contract/clock.ts';
import { seriesLabels } from '../../contract/metrics.ts';
import type { AutoscalerState } from '../api/v1alpha1/status.ts';
import type { Effective, ZImageDeployment } from '../api/v1alpha1/types.ts';
import type { EventRecorder } from '../events.ts';
import { missingReasons } from '../signals/sample.ts';
import type { Kube } from '../k8s/client.ts';
import {
  actionEvent,
  decideOn,
  onsetOf,
  turnedConditions,
  type AutoscalerOutcome,
} from './decision.ts';
import type { AutoscalerLoop } from './loop.ts';
import type { AutoscalerMetrics } from './metrics.ts';
import { keyOf } from '../../contract/object-key.ts';

export interface AutoscalerStepDeps {
  loop: Pick<AutoscalerLoop, 'take' | 'consumed'>;
  metrics?: AutoscalerMetrics | undefined;
  kube: Pick<Kube, 'replaceScale'>;
  events: EventRecorder;
  log: Logger;
  clock: Clock;
}

/** One decision taken in a reconcile, and the sample it used. */
export interface Decided {
  outcome: AutoscalerOutcome;
  key: string;
  sampledAt: number | undefined;
  seq?: number;
}

/**
 * A new object has no pods for its first seconds: MetricsAvailable=False/NoPods says so in
 * status, but is no Warning until the condition has been known otherwise (pods that all went
 * away are one).
 */
function starting(c: { type: string; reason: string }, cr: ZImageDeployment): boolean {
  if (c.reason !== missingReasons.NoPods) return false;
  const old = cr.status?.conditions?.find((p) => p.type === c.type);
  return !old || old.status === 'Unknown';
}

export class AutoscalerStep {
  private readonly d: AutoscalerStepDeps;
  /**
   * Scale writes that failed after status already held their replicas, per object: the
   * object's generation then (a `kubectl scale` bumps it, status writes do not) and the value.
   * Without it the next decision read the old spec.replicas as a manual change and announced
   * ManualScaleOverruled for the operator's own unfinished write.
   */
  private readonly unwritten = new Map<string, { generation: number | undefined; to: number }>();

  constructor(deps: AutoscalerStepDeps) {
    this.d = deps;
  }

  /**
   * Decide on the loop's newest sample, or in Off mode on nothing (overrides drop and the
   * conditions say Off). Undefined: DryRun/Enforce with no new sample (status stands).
   */
  decide(cr: ZImageDeployment, pods: readonly CachedPod[]): Decided | undefined {
    const a = this.d;
    const key = keyOf(cr.metadata);
    const sample = cr.spec.autoscaling.mode === 'Off' ? undefined : a.loop.take(key);
    if (cr.spec.autoscaling.mode !== 'Off' && !sample) return undefined;
    const end = a.metrics?.decideSeconds.startTimer();
    // Decided at the sample's time: what the readings say is as of then, and ticks are at least
    // an interval apart there (a 5 s window is 5 ticks), where the reconcile's own time
    // jitters by the sampling time and made a window one tick late about half the time.
    const now = sample?.at ?? this.d.clock.now();
    const outcome = decideOn({
      cr,
      pods,
      sampled: sample,
      now,
      unwrittenReplicas: this.owed(cr, key),
    });
    end?.();
    return { outcome, key, sampledAt: sample?.at, ...(sample ? { seq: sample.seq } : {}) };
  }

  /**
   * After status holds the decision: spec.replicas through the scale subresource, one Event
   * per action and per turned condition, the metrics, and the sample marked as used. A
   * failed scale write throws (the queue retries); the Deployment already has the replicas.
   */
  async applied(
    cr: ZImageDeployment,
    auto: Decided,
    effective: Effective,
    appliedAt: number,
  ): Promise<void> {
    const { decision } = auto.outcome;
    const before = cr.status?.autoscaler;
    if (auto.seq !== undefined) this.d.loop.consumed(auto.key, auto.seq);
    if (decision.state.mode === 'Enforce' && cr.spec.replicas !== effective.replicas) {
      try {
        await this.d.kube.replaceScale(cr, effective.replicas);
      } catch (err) {
        this.unwritten.set(auto.key, {
          generation: cr.metadata.generation,
          to: effective.replicas,
        });
        throw err;
      }
    }
    this.unwritten.delete(auto.key);
    await this.announce(cr, auto.outcome, before, {
      key: auto.key,
      appliedAt,
      sampledAt: auto.sampledAt,
    });
    this.recordGauges(cr, auto.outcome, effective);
  }

  /** A deleted object: nothing is owed to it any more. */
  forget(key: string): void {
    this.unwritten.delete(key);
  }

  /** The replicas a failed scale write still owes spec.replicas, if the spec is as it left it. */
  private owed(cr: ZImageDeployment, key: string): number | undefined {
    const u = this.unwritten.get(key);
    if (!u) return undefined;
    const untouched = cr.metadata.generation === u.generation;
    if (untouched && cr.status?.autoscaler?.replicas === u.to) return u.to;
    this.unwritten.delete(key);
    return undefined;
  }

  /** Events and counters of one decision: each action, and each autoscaler condition turned. */
  private async announce(
    cr: ZImageDeployment,
    { decision }: AutoscalerOutcome,
    before: AutoscalerState | undefined,
    at: { key: string; appliedAt: number; sampledAt: number | undefined },
  ): Promise<void> {
    const { key, appliedAt } = at;
    const dryRun = decision.state.mode === 'DryRun';
    const m = this.d.metrics;
    for (const a of decision.recorded) {
      const e = actionEvent(a, dryRun);
      await this.d.events.normal(cr, e.reason, e.message);
      const onset = dryRun ? undefined : onsetOf(a, before);
      this.d.log.info(
        { key, dryRun, ...a, onset, sampledAt: at.sampledAt, appliedAt },
        'autoscaler action',
      );
      m?.decisions.inc({
        namespace: cr.metadata.namespace,
        [seriesLabels.deployment]: cr.metadata.name,
        rule: a.rule,
        knob: a.knob,
        reason: a.reason,
        dry_run: String(dryRun),
      });
      if (onset !== undefined)
        m?.reaction.observe({ rule: a.rule, knob: a.knob }, (appliedAt - onset) / 1000);
    }
    for (const c of turnedConditions(decision.conditions, cr.status)) {
      const warn = c.type !== 'ScalingLimited' && c.status === 'False' && !starting(c, cr);
      if (warn) await this.d.events.warn(cr, { reason: c.reason, message: c.message });
      else if (c.type === 'ScalingLimited' && c.status === 'True')
        await this.d.events.normal(cr, c.reason, c.message);
    }
  }

  private recordGauges(cr: ZImageDeployment, outcome: AutoscalerOutcome, effective: Effective) {
    const m = this.d.metrics;
    if (!m) return;
    const labels = {
      namespace: cr.metadata.namespace,
      [seriesLabels.deployment]: cr.metadata.name,
    };
    const { state, conditions } = outcome.decision;
    // Off "decides" on every reconcile (to drop overrides); only real decisions count.
    if (state.mode !== 'Off') m.evaluations.inc({ mode: state.mode });
    m.replicas.set(labels, effective.replicas);
    m.steps.set(labels, effective.steps);
    m.qualityLevel.set(labels, state.qualityLevel);
    const available = conditions.find((c) => c.type === 'MetricsAvailable');
    if (state.mode === 'Off') m.metricsAvailable.remove(labels);
    else m.metricsAvailable.set(labels, available?.status === 'True' ? 1 : 0);
  }
}
