/**
 * Scale to demand: replicas from the work clients send, not from how busy the GPUs already are.
 * Utilization saturates at 100% and cannot say how much capacity is missing; the work arriving
 * at the routers can (issue 19: the default rules took two minutes to go from 1 to 6 pods).
 *
 * Demand, in GPUs kept busy at full quality: the routers' arriving engine seconds per second
 * (the rate of zimage_router_arrived_work_seconds_total, priced at the spec's steps) plus their
 * queued engine seconds over `drain`, scaled from the live steps to the spec's by the passes
 * (an image's GPU time grows ~linearly with them: the ladder's own assumption).
 *
 *   pods = ceil(demand / threshold)     (threshold: the target utilization, e.g. 80%)
 *
 * Over two windows, as Knative's KPA: a stable one (60 s) and a panic one (6 s). Scale-out
 * jumps in one decision to the stable count once demandUtilization is over the threshold, or
 * to the panic count when that asks for twice the Ready pods (KPA's 200% panic threshold);
 * scale-in follows the stable window (see scaling.ts, demandIn). While new pods load, the
 * Ready pods serve at the highest quality whose work they can carry (quality sized to the gap,
 * bridgeQuality below) and give it back as each new pod turns Ready.
 */
import { durationSeconds } from '../api/v1alpha1/schema-kit.ts';
import type { QualitySettings } from '../api/v1alpha1/status.ts';
import type { PolicySignal } from '../api/v1alpha1/signals.ts';
import { passesOf } from './ladder.ts';
import type { DemandWindows as SourceWindows } from '../signals/sample.ts';
import { isOutage, missing, valueOf, type Reading, type Signals } from './signals.ts';
import type { PolicyRule } from './spec.ts';

/** A toDemand action's windows (what the sources read over) and drain horizon, in seconds. */
export interface DemandWindows extends SourceWindows {
  drainSeconds: number;
}

/** KPA's panic threshold: the panic window asks for twice the Ready pods. */
export const panicRatio = 2;

/** The signals demand is worked out from: a toDemand rule needs each of them. */
export const demandInputs = [
  'arrivedWorkPerSecond',
  'burstWorkPerSecond',
  'routerQueuedWorkSeconds',
] as const satisfies readonly PolicySignal[];

export function isDemandRule(r: PolicyRule): boolean {
  return r.rule.action.scale?.toDemand !== undefined;
}

const windowsOf = new WeakMap<PolicyRule, DemandWindows>();

export function demandWindows(r: PolicyRule): DemandWindows | undefined {
  const t = r.rule.action.scale?.toDemand;
  if (!t) return undefined;
  let w = windowsOf.get(r);
  if (!w) {
    w = {
      drainSeconds: durationSeconds(t.drain),
      stableSeconds: durationSeconds(t.stableWindow),
      panicSeconds: durationSeconds(t.panicWindow),
    };
    windowsOf.set(r, w);
  }
  return w;
}

/** What the demand asks of the fleet, at full quality. */
export interface DemandPlan {
  /** GPUs kept busy at full quality: stable window's arriving work + queued work / drain. */
  work: number;
  /** The same over the panic window. */
  burstWork: number;
  /** Pods that carry `work` at the threshold; at least 1 while anything arrives or waits. */
  pods: number;
  burstPods: number;
  /** The panic window asks for twice the Ready pods or more. */
  panic: boolean;
  /** Arriving image-seconds per second at full quality (stable window), for the reason. */
  arriving: number;
  /** The queue's full-quality factor: the spec's passes over the live ones. */
  factor: number;
  threshold: number;
}

/**
 * The plan, or the first input's reason why there is none (a source down: the rule holds, as
 * any rule on a missing signal does).
 */
export function demandPlan(
  signals: Signals,
  r: PolicyRule,
  effective: QualitySettings,
  base: QualitySettings,
): DemandPlan | Extract<Reading, { ok: false }> {
  const w = demandWindows(r)!;
  for (const s of demandInputs) {
    const reading = signals[s];
    if (!reading.ok && isOutage(reading)) return reading;
  }
  // A window not filled yet (the first scrape of a router) counts no arrivals: the queue
  // still asks for its pods.
  const arriving = valueOf(signals.arrivedWorkPerSecond) ?? 0;
  const burst = valueOf(signals.burstWorkPerSecond) ?? arriving;
  const queued = valueOf(signals.routerQueuedWorkSeconds) ?? 0;
  // Arrivals are priced at the spec's steps already; the queue at the live ones.
  const factor = passesOf(base.steps) / passesOf(effective.steps);
  const backlog = (factor * queued) / w.drainSeconds;
  const work = arriving + backlog;
  const burstWork = burst + backlog;
  const threshold = r.rule.threshold;
  const waiting = (valueOf(signals.routerQueuedImages) ?? 0) > 0;
  const podsFor = (x: number) => {
    const n = Math.ceil((100 * x) / threshold - 1e-9);
    return Math.max(n, x > 0 || waiting ? 1 : 0);
  };
  const ready = signals.fleet.readyReplicas;
  const burstPods = podsFor(burstWork);
  return {
    work,
    burstWork,
    pods: podsFor(work),
    burstPods,
    panic: burstPods >= panicRatio * Math.max(1, ready) && burstPods > ready,
    arriving,
    factor,
    threshold,
  };
}

/**
 * demandUtilization, the rule's reading: the share of the replicas asked for (starting pods
 * included: they are on their way) that the stable demand fills, percent. With no replica and
 * work waiting, 100 x work over one pod: the first arrival asks for a pod.
 */
export function demandReading(
  signals: Signals,
  r: PolicyRule,
  effective: QualitySettings,
  base: QualitySettings,
): Reading {
  const plan = demandPlan(signals, r, effective, base);
  if (!('work' in plan)) return plan;
  const at = signals.arrivedWorkPerSecond.ok ? signals.arrivedWorkPerSecond.at : 0;
  const replicas = Math.max(1, signals.fleet.replicas);
  if (!Number.isFinite(plan.work))
    return missing('NotANumber', 'demandUtilization: the demand is not a finite number');
  return { ok: true, value: (100 * plan.work) / replicas, at, intervalSeconds: 1 };
}

const fixed = (v: number, digits = 1) => (Math.round(v * 10 ** digits) / 10 ** digits).toString();

/** "demand 7.3 image-s/s at 80% -> 10 pods": the arithmetic, for the decision's reason. */
export function demandText(plan: DemandPlan, pods: number, window: 'stable' | 'panic'): string {
  const work = window === 'stable' ? plan.work : plan.burstWork;
  return `demand ${fixed(work)} image-s/s at ${plan.threshold}% -> ${pods} pods (${window} window)`;
}

/**
 * The highest steps, from the spec's down to `floor`, at which `ready` pods carry the demand
 * at `level` percent: GPU time per image scales with the passes.
 */
export function stepsForCapacity(
  plan: DemandPlan,
  ready: number,
  base: QualitySettings,
  floor: number,
  level: number,
): number {
  for (let steps = base.steps; steps > floor; steps--) {
    const work = (plan.work * passesOf(steps)) / passesOf(base.steps);
    if (work <= (ready * level) / 100) return steps;
  }
  return floor;
}

/** The reading a rule steps on: its signal's, or for demandUtilization the demand's. */
export function ruleReading(
  signals: Signals,
  r: PolicyRule,
  effective: QualitySettings,
  base: QualitySettings,
): Reading {
  const signal = r.rule.signal;
  return signal === 'demandUtilization'
    ? demandReading(signals, r, effective, base)
    : signals[signal];
}
