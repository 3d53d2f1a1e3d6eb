/**
 * Quality moves: a notch down the ladder, a rule's own offload/attention/steps action, and
 * a notch given back.
 */
import type { Action as RuleAction } from '../api/v1alpha1/autoscaling.ts';
import { ladderLimit, type QualitySettings } from '../api/v1alpha1/status.ts';
import { offloadModes, stepsRange } from '../../contract/runtime.ts';
import {
  evidence,
  markActed,
  pendingPods,
  record,
  since,
  vramPressure,
  type Draft,
  type Notch,
} from './draft.ts';
import { isDemandRule } from './demand.ts';
import { changedKnobs, sameQuality } from './knobs.ts';
import { floorSteps, lowerOne, predictRestore, type Prediction } from './ladder.ts';
import { policyActors } from './outcome.ts';
import { policyReasons, type PolicyReason } from './reasons.ts';
import type { PolicyRule } from './spec.ts';
import { iso } from './time.ts';

function move(
  d: Draft,
  rule: string,
  to: QualitySettings,
  reason: PolicyReason,
  message: string,
): void {
  for (const c of changedKnobs(d.effective, to))
    record(d, rule, c.knob, c.from, c.to, reason, message);
  d.effective = to;
  d.lastQualityChangeTime = d.now;
}

/**
 * A move to settings some notch already returns to unwinds the ladder to that notch instead of
 * stacking another: a rule that raises what the ladder lowers (the seed's "slower than 15 s ->
 * steps 16" against steps lowered at maxReplicas, with 19 s images under `offload: model`)
 * otherwise stacked a notch per cooldown without end, until status no longer validated.
 */
function push(d: Draft, r: PolicyRule, to: QualitySettings, reason: PolicyReason, why: string) {
  const back = d.ladder.findIndex((n) => sameQuality(n.before, to));
  if (back < 0 && d.ladder.length >= ladderLimit) return;
  const notch: Notch = {
    rule: r.name,
    time: iso(d.now),
    cooldownSeconds: r.cooldownSeconds,
    before: d.effective,
  };
  const count = d.actions.length;
  move(d, r.name, to, reason, why);
  if (back >= 0) d.ladder.length = back;
  else d.ladder.push(notch);
  const last = d.actions[d.actions.length - 1];
  if (last && d.actions.length > count) markActed(d, r, last);
}

/**
 * Steps down to `steps` in one decision, a notch a step, so each can be given back on its own
 * as capacity returns (quality sized to the gap, demand-act.ts).
 */
export function lowerStepsTo(
  d: Draft,
  r: PolicyRule,
  steps: number,
  why: string,
  readyReplicas: number,
): void {
  let to = d.effective;
  const time = iso(d.now);
  while (to.steps > steps && d.ladder.length < ladderLimit) {
    const cooldownSeconds = r.cooldownSeconds;
    d.ladder.push({ rule: r.name, time, cooldownSeconds, before: to, readyReplicas });
    to = { ...to, steps: to.steps - 1 };
  }
  if (to === d.effective) return;
  // One action (one history entry) for the whole move: 50 -> 5 steps is one decision.
  move(d, r.name, to, policyReasons.QualityLowered, why);
  markActed(d, r, d.actions[d.actions.length - 1]!);
}

/** The newest `count` notches back in one move: the caller has checked the capacity. */
export function giveBackNotches(d: Draft, count: number, why: string): void {
  const kept = d.ladder.length - count;
  const to = d.ladder[kept]?.before;
  if (count <= 0 || !to) return;
  d.ladder.length = kept;
  move(d, policyActors.ladder, to, policyReasons.QualityRestored, why);
}

/** One notch down, at most one per the acting rule's cooldown, counted from any quality move. */
export function lowerQuality(d: Draft, r: PolicyRule): void {
  if (!since(d, d.lastQualityChangeTime, r.cooldownSeconds)) return;
  const next = lowerOne(d.effective, d.spec.base, vramPressure(d));
  if (!next) return;
  const why = `${evidence(d, r)}; scaling out cannot help now (${blockers(d)})`;
  push(d, r, next, policyReasons.QualityLowered, why);
}

function blockers(d: Draft): string {
  const added = d.replicas - d.startReplicas;
  if (added > 0) return `the ${added} pod(s) this decision adds must load the model first`;
  if (d.replicas >= d.spec.maxReplicas) return `at maxReplicas ${d.spec.maxReplicas}`;
  const pending = pendingPods(d);
  if (pending > 0) return `${pending} pod(s) Pending for lack of GPUs`;
  const f = d.signals.fleet;
  return `${f.replicas - f.readyReplicas} new pod(s) still loading the model`;
}

/**
 * What a rule's own quality action makes of the settings: offload at least the rule's level,
 * and one level further each time it fires again (vram-pressure: none -> model -> cpu);
 * attention as named; steps set as named, or moved by a delta but never below the floor.
 */
export function ruleTarget(
  now: QualitySettings,
  action: RuleAction,
  base: QualitySettings,
): QualitySettings | undefined {
  if (action.offload) {
    const rank = (m: QualitySettings['offload']) => offloadModes.indexOf(m);
    const level = Math.max(rank(action.offload), rank(now.offload) + 1);
    const offload = offloadModes[Math.min(level, offloadModes.length - 1)]!;
    return offload === now.offload ? undefined : { ...now, offload };
  }
  if (action.attention)
    return action.attention === now.attention ? undefined : { ...now, attention: action.attention };
  const steps = stepsOf(now.steps, action.steps, base);
  return steps === undefined || steps === now.steps ? undefined : { ...now, steps };
}

function stepsOf(now: number, s: RuleAction['steps'], base: QualitySettings): number | undefined {
  if (!s) return undefined;
  if (s.set !== undefined) return s.set;
  const by = s.by ?? 0;
  const low = by < 0 ? Math.min(now, floorSteps(base)) : stepsRange.min;
  return Math.min(stepsRange.max, Math.max(low, now + by));
}

export function ruleQualityAction(d: Draft, r: PolicyRule): void {
  if (d.held) return;
  const next = ruleTarget(d.effective, r.rule.action, d.spec.base);
  if (next) push(d, r, next, policyReasons.RuleAction, evidence(d, r));
}

/**
 * The newest notch back, once its cooldown has passed since the last quality move and since
 * the last pressure rule cleared, and the prediction says no pressure rule would trip. Returns the refusal (with the notch) so the
 * caller can make room when load is what stands in the way.
 */
export function restoreQuality(
  d: Draft,
  calmSeconds: number,
): { refused: Prediction; notch: Notch } | undefined {
  const top = d.ladder[d.ladder.length - 1];
  if (!top || d.held || !since(d, d.lastQualityChangeTime, top.cooldownSeconds)) return;
  // A toDemand rule's notches come back with the capacity that carries them (demand-act.ts).
  if (d.spec.rules.some((r) => r.name === top.rule && isDemandRule(r))) return;
  // Load must have stayed down for the notch's cooldown, not just dipped: without it a fleet
  // at 75% of its full-quality capacity (noise alone trips a 5 s window over 90%) went 9 -> 7
  // -> 9 every 3 min in the seed scenario.
  if (calmSeconds < top.cooldownSeconds) return;
  const prediction = predictRestore(d.effective, top.before, d.signals, d.spec);
  if (!prediction.ok) return { refused: prediction, notch: top };
  d.ladder.pop();
  const why = `load fell: no pressure rule pending or firing, and giving back keeps every rule under its clear level (notch taken by ${top.rule})`;
  move(d, policyActors.ladder, top.before, policyReasons.QualityRestored, why);
  return undefined;
}
