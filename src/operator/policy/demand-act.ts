/**
 * What a toDemand rule does each decision (the arithmetic: demand.ts).
 *
 * Out (demandOut): in one decision to the stable window's count once the rule is Firing, or to
 * the panic window's count when that asks for twice the Ready pods; within maxReplicas, and not
 * while pods are Pending for GPUs (more would only queue for the same GPUs). Then the bridge:
 * while fewer pods are Ready than the demand needs, the Ready ones run at the highest steps
 * they carry the demand at, in one decision (a notch a step, so each comes back on its own).
 *
 * Back (demandBack, only with no pressure rule Pending or Firing): the bridge's notches come
 * back as soon as the Ready pods carry the higher steps at the rule's threshold (hysteresis:
 * lowered past 100% of the Ready pods, given back at 80% by default: the level replicas are
 * sized for, so a fleet grown to the demand always gets full quality back), before any
 * scale-in; scale-in follows the stable window: one decision per window, to the pods the
 * stable demand needs at the clear level (the survivors stay under it, the N/(N-1) rule of
 * scaling.ts made general), at most halving (KPA's max scale-down rate 2), and to minReplicas
 * (zero, if allowed) only once nothing has arrived or waited for a whole window.
 */
import {
  markActed,
  pendingPods,
  servingPods,
  setReplicas,
  since,
  startingPods,
  type Draft,
} from './draft.ts';
import {
  demandPlan,
  demandText,
  demandWindows,
  stepsForCapacity,
  type DemandPlan,
} from './demand.ts';
import { floorSteps } from './ladder.ts';
import { giveBackNotches, lowerStepsTo } from './quality.ts';
import { policyReasons } from './reasons.ts';
import { survivorsOver } from './scaling.ts';
import { iso, parseTime } from './time.ts';
import type { PolicyRule } from './spec.ts';

/** Work out the plan for this decision (undefined while an input is out: the rule holds). */
export function planDemand(d: Draft, r: PolicyRule): DemandPlan | undefined {
  const plan = demandPlan(d.signals, r, d.effective, d.spec.base);
  return 'work' in plan ? plan : undefined;
}

/**
 * A panic holds a fifth of the panic window (2 s of the default 10 s) before it adds pods: one
 * reading over 2x is as often a Poisson cluster as a burst (at 3 pods of load a 10 s window
 * reaches 2.2x its mean within half an hour), and a real burst only grows meanwhile, so the
 * one decision it takes asks for more pods, not fewer. The bridge does not wait: quality is
 * cheap to lower and to give back, a GPU costs minutes.
 */
function confirmedPanic(d: Draft, r: PolicyRule, plan: DemandPlan): boolean {
  const step = d.ruleSteps.get(r.name)!;
  const { burstSince, ...rest } = step.next;
  if (!plan.panic) {
    step.next = rest;
    return false;
  }
  const from = parseTime(burstSince) ?? d.now;
  step.next = { ...rest, burstSince: iso(from) };
  return d.now - from >= (demandWindows(r)!.panicSeconds * 1000) / 5;
}

export function demandOut(d: Draft, r: PolicyRule, plan: DemandPlan): void {
  const panic = confirmedPanic(d, r, plan);
  // While a burst is being confirmed the stable window is rising with it: a pod a second
  // (1 -> 2 -> 3) is what one decision at confirmation replaces. The bridge goes on.
  if (plan.panic && !panic) return bridge(d, r, plan);
  const step = d.ruleSteps.get(r.name);
  const firing = step?.next.state === 'Firing' && (step.value ?? 0) > r.rule.threshold;
  let target = d.replicas;
  let why = '';
  const want = (pods: number, text: string) => {
    if (pods <= target) return;
    target = pods;
    why = text;
  };
  if (firing || d.replicas === 0) want(plan.pods, demandText(plan, plan.pods, 'stable'));
  if (panic) want(plan.burstPods, demandText(plan, plan.burstPods, 'panic'));
  target = Math.min(target, d.spec.maxReplicas);
  if (target > d.replicas && pendingPods(d) === 0)
    markActed(d, r, setReplicas(d, r.name, target, policyReasons.ScaledOut, why));
  bridge(d, r, plan);
}

/** Quality sized to the gap: the Ready pods carry the demand at 100% at most. */
function bridge(d: Draft, r: PolicyRule, plan: DemandPlan): void {
  const ready = servingPods(d);
  // No Ready pod serves at any quality: the first one starts at the spec's.
  if (d.held || ready === 0) return;
  const steps = stepsForCapacity(bridged(plan), ready, d.spec.base, floorSteps(d.spec.base), 100);
  if (steps >= d.effective.steps) return;
  const demand = plan.panic
    ? demandText(plan, plan.burstPods, 'panic')
    : demandText(plan, plan.pods, 'stable');
  const why = `${ready} Ready pod(s) carry ${demand} only at steps ${steps}: ${gap(d, ready)}`;
  lowerStepsTo(d, r, steps, why, ready);
}

/** Why the Ready pods are short: what the reason says after the arithmetic. */
function gap(d: Draft, ready: number): string {
  const coming = d.replicas - ready - pendingPods(d);
  if (coming > 0) return `${coming} more pod(s) still load the model`;
  if (pendingPods(d) > 0) return `${pendingPods(d)} pod(s) Pending for lack of GPUs`;
  if (d.replicas >= d.spec.maxReplicas) return `at maxReplicas ${d.spec.maxReplicas}`;
  return 'pods are added once the burst has held a fifth of the panic window';
}

/** The bridge's notches back, then scale-in; false when the quality is not full yet. */
export function demandBack(d: Draft, r: PolicyRule, plan: DemandPlan): void {
  if (d.held) return;
  const ready = servingPods(d);
  const level = r.rule.threshold;
  const base = d.spec.base;
  // Given back only when the panic window carries it too: a notch the burst took comes back
  // once the burst is over, not when the stable window dips under it for a second.
  const calm = { ...plan, work: Math.max(plan.work, plan.burstWork) };
  const carried = stepsForCapacity(calm, ready, base, floorSteps(base), level);
  // Capacity comes back as pods turn Ready: a notch comes back once a pod has turned Ready
  // since it was taken (at least a panic window later), or once the demand has stayed lower
  // for a stable window. Between two pods turning Ready only noise moves the estimate: with 2
  // of 5 pods Ready at 3 pods of load it took steps 5 -> 6 -> 5 -> 7 -> 6 in two minutes.
  const w = demandWindows(r)!;
  const top = d.ladder.at(-1);
  const grew = top?.readyReplicas === undefined || ready > top.readyReplicas;
  const settled =
    since(d, d.lastQualityChangeTime, w.panicSeconds) &&
    (grew || since(d, d.lastQualityChangeTime, w.stableSeconds));
  let count = 0;
  for (let i = d.ladder.length - 1; settled && i >= 0; i--) {
    const notch = d.ladder[i]!;
    if (notch.rule !== r.name || notch.before.steps > carried) break;
    if (notch.before.offload !== d.effective.offload) break;
    count++;
  }
  const steps = d.ladder[d.ladder.length - count]?.before.steps;
  const why = `${ready} Ready pod(s) carry ${demandText(plan, plan.pods, 'stable')} at steps ${steps} under ${Math.round(level)}%`;
  giveBackNotches(d, count, why);
  demandIn(d, r, plan);
}

/**
 * Scale-in: to the pods the demand needs at the clear level, once it has fit in fewer pods for
 * a whole stable window (a 60 s average at 0.8 pods of load swings 0.6..1.0 on noise alone:
 * acting on one reading took 1 -> 2 -> 1 pods every few minutes in the simulator).
 */
function demandIn(d: Draft, r: PolicyRule, plan: DemandPlan): void {
  const w = demandWindows(r)!;
  const target = scaleInTarget(d, r, plan);
  const fewer = target < d.replicas && !survivorsOver(d, servingPods(d), target);
  const step = d.ruleSteps.get(r.name)!;
  const { fewerPodsSince: was, ...rest } = step.next;
  const from = fewer ? (parseTime(was) ?? d.now) : undefined;
  step.next = from === undefined ? rest : { ...rest, fewerPodsSince: iso(from) };
  if (!fewer || d.ladder.length > 0 || d.replicas !== d.startReplicas) return;
  if (plan.panic || startingPods(d) > 0 || pendingPods(d) > 0) return;
  // A whole stable window of data, of fewer pods, and since the last scale either way.
  if (!filled(d, w.stableSeconds) || !since(d, from, w.stableSeconds)) return;
  if (!since(d, d.lastScaleTime, w.stableSeconds)) return;
  if (!since(d, parseTime(step.next.lastActionTime), r.cooldownSeconds)) return;
  const why = `${demandText(plan, target, 'stable')}: the survivors stay under ${r.clear}%`;
  markActed(d, r, setReplicas(d, r.name, target, policyReasons.ScaledIn, why));
  delete d.ruleSteps.get(r.name)!.next.fewerPodsSince;
}

/**
 * The pods the stable demand needs at the clear level (the survivors stay under it), at most
 * halving (KPA's max scale-down rate 2); minReplicas once nothing arrives or waits.
 */
function scaleInTarget(d: Draft, r: PolicyRule, plan: DemandPlan): number {
  const min = d.spec.minReplicas;
  if (plan.pods === 0 && plan.burstPods === 0) return min;
  const atClear = Math.ceil((100 * plan.work) / r.clear - 1e-9);
  return Math.max(min, atClear, plan.burstPods, Math.ceil(d.replicas / 2));
}

/** The work the bridge sizes quality for: in a panic the burst (the floor at once). */
function bridged(plan: DemandPlan): DemandPlan {
  return plan.panic ? { ...plan, work: Math.max(plan.work, plan.burstWork) } : plan;
}

/** The arrival rate's window covers `seconds` (not a router just started). */
function filled(d: Draft, seconds: number): boolean {
  const a = d.signals.arrivedWorkPerSecond;
  if (!a.ok) return false;
  return a.windowSeconds === undefined || a.windowSeconds >= seconds - a.intervalSeconds - 1e-9;
}
