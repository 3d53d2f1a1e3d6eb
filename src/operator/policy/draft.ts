/**
 * The working copy of one decision: replicas and quality as they stand while the rules act
 * in spec order, and the actions taken so far. decide() builds one, lets scaling.ts and
 * quality.ts move it, and turns it into the next state.
 */
import type { AutoscalerState, QualitySettings } from '../api/v1alpha1/status.ts';
import { type Action, type Knob, shortForm } from './outcome.ts';
import type { PolicyReason } from './reasons.ts';
import { acted, type RuleStep } from './rules.ts';
import { valueOf, type Signals } from './signals.ts';
import type { PolicyRule, PolicySpec } from './spec.ts';

export type Notch = AutoscalerState['ladder'][number];

export interface Draft {
  now: number;
  spec: PolicySpec;
  signals: Signals;
  /** A required signal is out: no scale-in, no quality change. */
  held: boolean;
  /** Each rule's state-machine step on this decision's reading, by rule name. */
  ruleSteps: Map<string, RuleStep>;
  /** Replicas at the start of the decision, after manual changes and bounds. */
  startReplicas: number;
  replicas: number;
  effective: QualitySettings;
  ladder: Notch[];
  lastScaleTime: number | undefined;
  lastQualityChangeTime: number | undefined;
  /** Since when every required signal has had a value (undefined while one is out). */
  signalsSince: number | undefined;
  actions: Action[];
}

/** Pods Pending for lack of GPUs (0 when unknown: a held decision takes no risk on it). */
export function pendingPods(d: Draft): number {
  return valueOf(d.signals.pendingPods) ?? 0;
}

/** Pods scheduled but not Ready yet: loading ~21 GB of weights for ~105 s (docs/operator.md). */
export function startingPods(d: Draft): number {
  const f = d.signals.fleet;
  return Math.max(0, f.replicas - f.readyReplicas - pendingPods(d));
}

/**
 * Pods serving: what N is in the N/(N-1) scale-in guard. gpuUtilization is the mean over
 * these (a pod loading its weights serves nothing: counting its idle GPU would dilute 2 busy
 * pods' 100% to 67% and clear a saturated rule while the third pod is still 100 s away).
 */
export function servingPods(d: Draft): number {
  return d.signals.fleet.readyReplicas;
}

export function since(d: Draft, time: number | undefined, seconds: number): boolean {
  return time === undefined || d.now - time >= seconds * 1000;
}

export function record(
  d: Draft,
  rule: string,
  knob: Knob,
  from: string | number,
  to: string | number,
  reason: PolicyReason,
  message: string,
): Action {
  const action: Action = { rule, knob, from: String(from), to: String(to), reason, message };
  d.actions.push(action);
  return action;
}

/** Note on the rule's own record that it acted (its cooldown counts from now). */
export function markActed(d: Draft, r: PolicyRule, action: Action): void {
  const step = d.ruleSteps.get(r.name);
  if (step) d.ruleSteps.set(r.name, { ...step, next: acted(step.next, d.now, shortForm(action)) });
}

export function setReplicas(
  d: Draft,
  rule: string,
  to: number,
  reason: PolicyReason,
  message: string,
): Action {
  const action = record(d, rule, 'replicas', d.replicas, to, reason, message);
  d.replicas = to;
  d.lastScaleTime = d.now;
  return action;
}

/** "gpuUtilization 95 > 90 for 5s": a rule's evidence, for history and Events. */
export function evidence(d: Draft, r: PolicyRule): string {
  const value = d.ruleSteps.get(r.name)?.value;
  const op = r.rule.operator === 'Above' ? '>' : '<';
  const shown = value === undefined ? 'no value' : String(Math.round(value * 1000) / 1000);
  return `${r.rule.signal} ${shown} ${op} ${r.rule.threshold} for ${r.rule.for} (rule ${r.name})`;
}

/** A rule that pushes for more capacity or lower quality is Pending or Firing. */
export function underPressure(d: Draft, r: PolicyRule): boolean {
  const state = d.ruleSteps.get(r.name)?.next.state;
  return state === 'Pending' || state === 'Firing';
}

/** A rule on VRAM is Pending or Firing: the ladder offloads first. */
export function vramPressure(d: Draft): boolean {
  return d.spec.rules.some(
    (r) => r.rule.signal === 'vramUsedRatio' && r.rule.operator === 'Above' && underPressure(d, r),
  );
}
