/**
 * Replicas: manual changes, bounds, scale-out and the guarded scale-in.
 */
import { lowerQuality } from './quality.ts';
import {
  evidence,
  markActed,
  pendingPods,
  servingPods,
  setReplicas,
  since,
  startingPods,
  type Draft,
} from './draft.ts';
import { policyActors } from './outcome.ts';
import { policyReasons } from './reasons.ts';
import { valueOf } from './signals.ts';
import type { PolicyRule, PolicySpec } from './spec.ts';

const clamp = (n: number, spec: PolicySpec) =>
  Math.min(spec.maxReplicas, Math.max(spec.minReplicas, n));

/**
 * Where replicas start from. Enforce: what the autoscaler set last; a different spec.replicas
 * (`kubectl scale`) is noted and set back on this very decision, as HPA does, instead of a
 * second writer fighting the policy for good (dynamo#4420). Then min/max, which no decision
 * ever leaves.
 */
export function startingReplicas(d: Draft, enforce: boolean, owned: number | undefined): void {
  const observed = d.signals.fleet.replicas;
  d.replicas = observed;
  if (enforce && owned !== undefined && owned !== observed) {
    const message = `spec.replicas was changed to ${observed} outside the autoscaler; mode is Enforce, so ${owned} stands (set mode DryRun or Off to scale by hand)`;
    setReplicas(d, policyActors.manual, owned, policyReasons.ManualScaleOverruled, message);
  }
  const bounded = clamp(d.replicas, d.spec);
  if (bounded !== d.replicas) {
    const message = `${d.replicas} is outside minReplicas ${d.spec.minReplicas}..maxReplicas ${d.spec.maxReplicas}`;
    setReplicas(d, policyActors.bounds, bounded, policyReasons.ReplicasOutOfBounds, message);
  }
  d.startReplicas = d.replicas;
}

/** Where a scale rule wants replicas, from where they stood when the decision began. */
export function wanted(d: Draft, r: PolicyRule): number {
  const scale = r.rule.action.scale!;
  return scale.to ?? d.startReplicas + (scale.by ?? 0);
}

export function wantsOut(d: Draft, r: PolicyRule): boolean {
  return r.rule.action.scale !== undefined && wanted(d, r) > d.startReplicas;
}

export function wantsIn(d: Draft, r: PolicyRule): boolean {
  return r.rule.action.scale !== undefined && wanted(d, r) < d.startReplicas;
}

/**
 * Out, within maxReplicas; several rules in one decision take the largest target, not the
 * sum (two symptoms of one overload are one pod, as HPA's max over metrics). When scaling out
 * cannot help now (at max, pods Pending for GPUs, or pods still loading), quality goes down
 * a notch as well: a pod started now serves in ~105 s; fewer steps serve the queue today.
 */
export function scaleOut(d: Draft, r: PolicyRule): void {
  const pending = pendingPods(d);
  const room = d.replicas < d.spec.maxReplicas && pending === 0;
  const target = Math.min(d.spec.maxReplicas, wanted(d, r));
  if (room && target > d.replicas)
    markActed(d, r, setReplicas(d, r.name, target, policyReasons.ScaledOut, evidence(d, r)));
  // The pod this decision starts is one of the new pods still starting: ~105 s from now.
  const blocked = !room || startingPods(d) > 0 || d.replicas > d.startReplicas;
  if (blocked && !d.held) lowerQuality(d, r);
}

/**
 * In, one pod at a time, only at full quality (the ladder gives quality back first), with an
 * empty queue and no pod coming up, and only while the survivors would stay under every load
 * rule's clear level:
 * N pods at u% leave N-1 pods at u x N/(N-1) (4 pods at 28% -> 3 at 37%, under 81). Without it
 * a scale-in lifts the load over the scale-out threshold and the fleet oscillates 2 <-> 1
 * (dynamo PR #9294).
 */
export function scaleIn(d: Draft, r: PolicyRule): void {
  if (d.held || d.ladder.length > 0 || d.replicas <= d.spec.minReplicas) return;
  if (d.replicas !== d.startReplicas) return;
  if (valueOf(d.signals.queueDepth) !== 0 || startingPods(d) > 0) return;
  const n = servingPods(d);
  if (survivorsOver(d, n, n - 1)) return;
  const target = Math.max(d.spec.minReplicas, d.replicas - 1);
  markActed(d, r, setReplicas(d, r.name, target, policyReasons.ScaledIn, evidence(d, r)));
}

/**
 * Would `m` pods left of `n` serving push a load rule past its clear level? N at u% leave M at
 * u x N/M. One pod left of one must be idle (0 / 0 pods says nothing).
 */
export function survivorsOver(d: Draft, n: number, m: number): boolean {
  const load = d.spec.rules.filter(
    (p) => p.rule.operator === 'Above' && p.rule.signal === 'gpuUtilization',
  );
  for (const p of load) {
    const value = valueOf(d.signals.gpuUtilization);
    if (value === undefined) return true;
    if (m <= 0 ? value > 0 : (value * n) / m >= p.clear) return true;
  }
  return false;
}

/**
 * Quality is below the spec and giving the next notch back would push load over a rule:
 * what restores it is capacity. One pod, if there is room and none is still coming up, at
 * most once per the notch's cooldown; at 70% on 2 pods at steps 5 that is a third pod, after
 * which 5 -> 6 predicts 58% and goes ahead.
 */
export function scaleForQuality(d: Draft, cooldownSeconds: number, why: string): void {
  const room = d.replicas < d.spec.maxReplicas && pendingPods(d) === 0;
  if (!room || startingPods(d) > 0 || d.replicas !== d.startReplicas) return;
  if (!since(d, d.lastScaleTime, cooldownSeconds)) return;
  const message = `quality is ${d.ladder.length} notch(es) below the spec and restoring needs capacity: ${why}`;
  setReplicas(d, policyActors.ladder, d.replicas + 1, policyReasons.QualityDebt, message);
}
