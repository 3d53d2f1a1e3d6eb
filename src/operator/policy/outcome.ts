/**
 * What one decision produced: changes (actions for the reconciler in Enforce mode), the
 * history entries they leave in status, and the names of the policy's own pseudo-rules.
 */
import type { AutoscalerState } from '../api/v1alpha1/status.ts';
import type { PolicyReason } from './reasons.ts';

/**
 * Who acted when no spec rule did. A colon is not allowed in a rule name (a DNS label), so
 * these never collide with a user's rule.
 */
export const policyActors = {
  /** Giving quality back, or scaling out to be able to. */
  ladder: 'policy:ladder',
  /** Setting replicas back after a manual change. */
  manual: 'policy:manual-scale',
  /** Bringing replicas inside changed bounds. */
  bounds: 'policy:bounds',
} as const;

export type Knob = 'replicas' | 'steps' | 'offload' | 'attention';

/** One change. In Enforce mode the reconciler applies them in order; the last per knob wins. */
export interface Action {
  rule: string;
  knob: Knob;
  from: string;
  to: string;
  reason: PolicyReason;
  /** Why, with the signal value: "gpuUtilization 95 > 90 for 5s". */
  message: string;
}

type HistoryEntry = AutoscalerState['history'][number];

/** Entries kept in status (the schema's bound): the newest 20. */
export const historyLimit = 20;

export function historyEntry(a: Action, time: string, dryRun: boolean): HistoryEntry {
  return {
    time,
    rule: a.rule,
    action: a.knob === 'replicas' ? 'scale' : a.knob,
    from: a.from,
    to: a.to,
    // The reason first, so Events and metrics can take it back out: "ScaledOut: ...".
    reason: `${a.reason}: ${a.message}`.slice(0, 1024),
    dryRun,
  };
}

export function appendHistory(
  history: readonly HistoryEntry[],
  actions: readonly Action[],
  time: string,
  dryRun: boolean,
): HistoryEntry[] {
  const added = actions.map((a) => historyEntry(a, time, dryRun));
  return [...history, ...added].slice(-historyLimit);
}

/** `scale 2 -> 3`: the short form for a rule's lastAction and the printer column. */
export function shortForm(a: Pick<Action, 'knob' | 'from' | 'to'>): string {
  return `${a.knob === 'replicas' ? 'scale' : a.knob} ${a.from} -> ${a.to}`;
}

/**
 * status.lastAction (the printer column) from the newest history entry:
 * "scale 2 -> 3 by gpu-saturated" or, in DryRun, "would scale 2 -> 3 by gpu-saturated".
 */
export function lastActionText(history: readonly HistoryEntry[]): string | undefined {
  const h = history.at(-1);
  if (!h) return undefined;
  return `${h.dryRun ? 'would ' : ''}${h.action} ${h.from} -> ${h.to} by ${h.rule}`.slice(0, 256);
}
