/**
 * The autoscaler's decision, Knative's `Scale(now)` made pure: signals, the state read back
 * from status, the spec and the time in; actions, the next state and conditions out. No
 * Kubernetes, no Prometheus, no clock (ESLint holds the line); the same inputs give the same
 * output, whether in the operator, after a failover (the state is in status), or in the
 * simulator (src/sim), which runs this very function.
 *
 * One decision, in order:
 *  1. Off: nothing is decided; overrides drop, spec.replicas and spec.runtime apply.
 *  2. Every rule steps its state machine on its reading (rules.ts).
 *  3. Replicas start from what the autoscaler set (a manual change is set back) within bounds.
 *  4. Due rules act: offload/attention/steps rules apply their action, then scale-out rules
 *     scale out, and walk the quality ladder down when scaling out cannot help now (at max,
 *     pods Pending, pods starting: the pod this very decision starts serves in ~105 s).
 *  5. With no pressure rule Pending or Firing for a cooldown and every signal in: quality
 *     comes back one notch (or a pod is added so it can); only at full quality may a due
 *     scale-in rule remove one pod, and only while the survivors stay under the thresholds.
 *  6. Missing data holds 4 and 5 (scale-out may still happen): no scale-in, no quality change.
 * DryRun runs all of it against what runs (the spec) and records; nothing is applied.
 */
import type { ZImageDeploymentSpec } from '../api/v1alpha1/spec.ts';
import type { AutoscalerState } from '../api/v1alpha1/status.ts';
import {
  limitedCondition,
  metricsCondition,
  offConditions,
  outages,
  samplingCondition,
  type PolicyCondition,
} from './conditions.ts';
import { demandBack, demandOut, planDemand } from './demand-act.ts';
import { isDemandRule, ruleReading, type DemandPlan } from './demand.ts';
import { pendingPods, underPressure, type Draft } from './draft.ts';
import { sameQuality } from './knobs.ts';
import { floorSteps, passesOf } from './ladder.ts';
import { appendHistory, type Action } from './outcome.ts';
import { ruleQualityAction, restoreQuality } from './quality.ts';
import { stepRule, type RuleStep } from './rules.ts';
import {
  scaleForQuality,
  scaleIn,
  scaleOut,
  startingReplicas,
  wantsIn,
  wantsOut,
} from './scaling.ts';
import type { Signals } from './signals.ts';
import { policySpecOf, type PolicyRule, type PolicySpec } from './spec.ts';
import { iso, parseTime } from './time.ts';

export interface Decision {
  /** Changes to apply, in order (Enforce only; empty in DryRun and Off). */
  actions: Action[];
  /** What this decision wrote to history: the actions in Enforce, what it would do in DryRun. */
  recorded: Action[];
  /** What to write to status.autoscaler. */
  state: AutoscalerState;
  conditions: PolicyCondition[];
}

function offDecision(spec: PolicySpec, prev: AutoscalerState | undefined): Decision {
  const state: AutoscalerState = {
    mode: 'Off',
    rules: spec.rules.map((r) => ({ name: r.name, state: 'Inactive' })),
    base: spec.base,
    effective: spec.base,
    ladder: [],
    qualityLevel: 0,
    history: prev?.history ?? [],
  };
  return { actions: [], recorded: [], state, conditions: offConditions() };
}

function draftOf(
  signals: Signals,
  prev: AutoscalerState | undefined,
  spec: PolicySpec,
  now: number,
): Draft {
  const enforce = spec.mode === 'Enforce';
  // Overrides depart from the spec they were taken on; an edited spec (the user's own steps,
  // offload or attention) starts the ladder over. DryRun decides against what runs: the spec.
  const keep = enforce && prev?.mode === 'Enforce' && sameQuality(prev.base, spec.base);
  const effective = keep ? prev.effective : spec.base;
  const previous = new Map((prev?.rules ?? []).map((r) => [r.name, r]));
  const ruleSteps = new Map<string, RuleStep>();
  for (const r of spec.rules) {
    const reading = ruleReading(signals, r, effective, spec.base);
    ruleSteps.set(r.name, stepRule(r, previous.get(r.name), reading, now));
  }
  const held = outages(signals, spec).length > 0;
  return {
    now,
    spec,
    signals,
    held,
    ruleSteps,
    startReplicas: signals.fleet.replicas,
    replicas: signals.fleet.replicas,
    effective,
    ladder: keep ? [...prev.ladder] : [],
    lastScaleTime: parseTime(prev?.lastScaleTime),
    lastQualityChangeTime: parseTime(prev?.lastQualityChangeTime),
    // The first decision counts as data from now (as after an operator restart: the window
    // starts, it is not assumed calm before).
    signalsSince: held ? undefined : (parseTime(prev?.signalsSince) ?? now),
    actions: [],
  };
}

const due = (d: Draft, r: PolicyRule) => d.ruleSteps.get(r.name)?.due === true;

/**
 * Rules with their own quality action first, then scale-out rules: a VRAM rule's offload and
 * a blocked scale-out's notch on the same decision would be two quality moves where the
 * ladder allows one per cooldown (the notch waits, and is steps once the pressure is gone).
 */
function actOnRules(d: Draft): Map<PolicyRule, DemandPlan> {
  const acting = d.spec.rules.filter((p) => due(d, p));
  for (const r of acting.filter((p) => p.rule.action.scale === undefined)) ruleQualityAction(d, r);
  const plans = new Map<PolicyRule, DemandPlan>();
  for (const r of d.spec.rules.filter(isDemandRule)) {
    const plan = planDemand(d, r);
    if (!plan) continue;
    plans.set(r, plan);
    demandOut(d, r, plan);
  }
  for (const r of acting.filter((p) => wantsOut(d, p))) scaleOut(d, r);
  return plans;
}

/** Pushing for capacity or lower quality: anything but a scale-in rule. */
const presses = (d: Draft, r: PolicyRule) => !wantsIn(d, r) && underPressure(d, r);

/**
 * Seconds since the last pressure rule went Inactive (Infinity when none ever fired), and no
 * longer than the signals have been back: a gap with no data is not calm (with Prometheus down
 * for 65 s the ladder gave quality back 7.6 s after the data returned, issue 22).
 */
function calmSeconds(d: Draft): number {
  const cleared = d.spec.rules
    .filter((r) => !wantsIn(d, r))
    .map((r) => parseTime(d.ruleSteps.get(r.name)?.next.since))
    .filter((t): t is number => t !== undefined);
  const since = [...cleared, d.signalsSince ?? d.now];
  const seen = (d.now - (d.signalsSince ?? d.now)) / 1000;
  return cleared.length === 0 ? seen : (d.now - Math.max(...since)) / 1000;
}

function giveBack(d: Draft, plans: Map<PolicyRule, DemandPlan>): void {
  if (d.held || d.spec.rules.some((r) => presses(d, r))) return;
  for (const [r, plan] of plans) demandBack(d, r, plan);
  if (d.ladder.length > 0) {
    const refused = restoreQuality(d, calmSeconds(d));
    if (refused && !refused.refused.ok && refused.refused.blockedBy === 'load')
      scaleForQuality(d, refused.notch.cooldownSeconds, refused.refused.message);
    return;
  }
  for (const r of d.spec.rules.filter((p) => due(d, p) && wantsIn(d, p))) scaleIn(d, r);
}

function quality(d: Draft): string {
  const floor = floorSteps(d.spec.base);
  const e = d.effective;
  return `steps ${e.steps} (${passesOf(e.steps)} passes; floor ${floor}), offload ${e.offload}, quality level ${d.ladder.length}`;
}

function nextState(d: Draft, enforce: boolean, prev: AutoscalerState | undefined): AutoscalerState {
  const time = iso(d.now);
  const optional = <T>(v: T | undefined, f: (v: T) => string) =>
    v === undefined ? undefined : f(v);
  const state: AutoscalerState = {
    mode: d.spec.mode,
    rules: d.spec.rules.map((r) => d.ruleSteps.get(r.name)!.next),
    base: d.spec.base,
    effective: enforce ? d.effective : d.spec.base,
    ladder: enforce ? d.ladder : [],
    qualityLevel: enforce ? d.ladder.length : 0,
    history: appendHistory(prev?.history ?? [], d.actions, time, !enforce),
  };
  if (enforce) state.replicas = d.replicas;
  const scaled = optional(d.lastScaleTime, iso);
  if (scaled !== undefined) state.lastScaleTime = scaled;
  const changed = optional(d.lastQualityChangeTime, iso);
  if (changed !== undefined) state.lastQualityChangeTime = changed;
  if (d.signalsSince !== undefined) state.signalsSince = iso(d.signalsSince);
  return state;
}

/**
 * Decide at `now` (epoch ms). `state` is status.autoscaler as read back (undefined the first
 * time); `spec` the parsed ZImageDeployment spec.
 */
export function decide(
  signals: Signals,
  state: AutoscalerState | undefined,
  spec: ZImageDeploymentSpec | PolicySpec,
  now: number,
): Decision {
  const p = 'autoscaling' in spec ? policySpecOf(spec) : spec;
  if (p.mode === 'Off') return offDecision(p, state);
  const enforce = p.mode === 'Enforce';
  const d = draftOf(signals, state, p, now);
  startingReplicas(d, enforce, state?.mode === 'Enforce' ? state.replicas : undefined);
  giveBack(d, actOnRules(d));
  const conditions = [
    metricsCondition(outages(signals, p)),
    limitedCondition(d.replicas, pendingPods(d), p, quality(d)),
    samplingCondition(signals, p),
  ];
  return {
    actions: enforce ? d.actions : [],
    recorded: d.actions,
    state: nextState(d, enforce, state),
    conditions,
  };
}
