/**
 * One rule's state machine, the alerting way (Prometheus `for`), with hysteresis and a
 * cooldown:
 *
 *   Inactive --breach--> Pending --breach held `for`--> Firing --past clear level--> Inactive
 *                          \--no breach--> Inactive
 *
 * Pending is not held in the hysteresis band: a breach must last the whole window beyond the
 * threshold, as the PrometheusRule's alerts do (builders/monitoring.ts), so what the SRE's
 * alert shows and what the operator does agree. Firing is held until the signal is past the
 * clear level: gpu-saturated (90, clears at 81) wobbling 89..91 stays Firing and acts once per
 * cooldown instead of flapping.
 *
 * A rule whose signal is out (source down, NaN, no series) holds its state, `since` included:
 * no window starts, resets or completes on no data. When data returns, the time in between
 * counts, as it does after an operator restart (the window continues from status).
 */
import type { AutoscalerState } from '../api/v1alpha1/status.ts';
import { isOutage, valueOf, type Reading } from './signals.ts';
import type { PolicyRule } from './spec.ts';
import { iso, parseTime } from './time.ts';

export type RuleState = AutoscalerState['rules'][number];

export interface RuleStep {
  next: RuleState;
  /**
   * Firing, beyond the threshold on this very reading, and out of cooldown: the rule may act
   * now. In the hysteresis band a Firing rule holds (it still blocks a restore) but does not
   * act again: 85% keeps gpu-saturated Firing, only a reading over 90 adds another pod.
   */
  due: boolean;
  /** The reading's value (undefined when missing). */
  value: number | undefined;
  /** No usable reading: the rule held its state. */
  held: boolean;
}

export function breaches(r: PolicyRule, value: number): boolean {
  return r.rule.operator === 'Above' ? value > r.rule.threshold : value < r.rule.threshold;
}

/** Past the clear level (on the far side of clearThreshold). */
export function clears(r: PolicyRule, value: number): boolean {
  return r.rule.operator === 'Above' ? value <= r.clear : value >= r.clear;
}

function transition(
  r: PolicyRule,
  prev: RuleState,
  value: number | undefined,
  now: number,
): RuleState {
  const breach = value !== undefined && breaches(r, value);
  // No image finished in the latency window: nothing is slow (signals.ts, NoObservations).
  const clear = value === undefined || clears(r, value);
  const enter = (state: RuleState['state']): RuleState => ({ ...prev, state, since: iso(now) });
  switch (prev.state) {
    case 'Inactive':
      if (!breach) return prev;
      return r.forSeconds === 0 ? enter('Firing') : enter('Pending');
    case 'Pending': {
      if (!breach) return enter('Inactive');
      const onset = parseTime(prev.since) ?? now;
      return now - onset >= r.forSeconds * 1000 ? enter('Firing') : prev;
    }
    case 'Firing':
      return clear ? enter('Inactive') : prev;
  }
}

/** Advance a rule to `now` on its reading. */
export function stepRule(
  r: PolicyRule,
  prev: RuleState | undefined,
  reading: Reading,
  now: number,
): RuleStep {
  const start: RuleState = prev ?? { name: r.name, state: 'Inactive' };
  const value = valueOf(reading);
  if (isOutage(reading)) return { next: start, due: false, value, held: true };
  const next = transition(r, start, value, now);
  const last = parseTime(next.lastActionTime);
  const cooled = last === undefined || now - last >= r.cooldownSeconds * 1000;
  const breach = value !== undefined && breaches(r, value);
  return { next, due: next.state === 'Firing' && breach && cooled, value, held: false };
}

/** The rule's record after it acted now. */
export function acted(state: RuleState, now: number, what: string): RuleState {
  return { ...state, lastActionTime: iso(now), lastAction: what };
}
