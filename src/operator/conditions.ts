import type { Condition, ConditionInput as Computed } from './api/v1alpha1/status.ts';
import type { Reason } from './reasons.ts';

/** A condition the operator computes: its reason is one of reasons.ts. */
export type ConditionInput = Computed<Reason>;

/**
 * metav1 semantics (meta.SetStatusCondition): lastTransitionTime moves only when status
 * flips; reason, message and observedGeneration follow the latest computation.
 */
export function setCondition(
  existing: readonly Condition[] | undefined,
  next: ConditionInput,
  generation: number,
  now: string,
): Condition[] {
  const list = [...(existing ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const previous = i >= 0 ? list[i] : undefined;
  const condition: Condition = {
    type: next.type,
    status: next.status,
    reason: next.reason,
    message: next.message,
    observedGeneration: generation,
    lastTransitionTime:
      previous && previous.status === next.status ? previous.lastTransitionTime : now,
  };
  if (i >= 0) list[i] = condition;
  else list.push(condition);
  return list;
}

export function setConditions(
  existing: readonly Condition[] | undefined,
  next: readonly ConditionInput[],
  generation: number,
  now: string,
): Condition[] {
  return next.reduce<Condition[]>(
    (list, c) => setCondition(list, c, generation, now),
    [...(existing ?? [])],
  );
}
