/**
 * What runs after a fresh decision (decideOn's `effective`) against what status would give
 * (effectiveOf on the state the decision writes): the reconcile reads the first, the next
 * reconcile without a sample the second, and the two must never disagree.
 */
import { describe, expect, it } from 'vitest';
import type { ZImageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import type { Effective, ZImageDeployment } from '../../src/operator/api/v1alpha1/types.ts';
import { decideOn, effectiveOf } from '../../src/operator/autoscaling/decision.ts';
import { allMissing } from '../../src/operator/signals/sample.ts';
import { twoNotchesAtMax } from '../support/policy-rows.ts';
import { play, specOf, t0, type Run } from '../support/policy-script.ts';

/** Two notches down at maxReplicas 4 under the default rules: steps 9 -> 7, 4 replicas. */
function overridden() {
  const run: Run = { state: undefined, replicas: 4, world: {} };
  play(specOf(), twoNotchesAtMax, run);
  return run.state!;
}

const objectOf = (spec: ZImageDeploymentSpec): ZImageDeployment => ({
  metadata: { name: 'turbo', namespace: 'ml', uid: 'u-1' },
  spec: { ...spec, replicas: 4 },
  status: { autoscaler: overridden() },
});

const runs = (steps: number, replicas: number): Partial<Effective> => ({ steps, replicas });

const rows: { name: string; spec: ZImageDeploymentSpec; want: Partial<Effective> }[] = [
  { name: 'Enforce: the overrides stand', spec: specOf(), want: runs(7, 4) },
  {
    name: 'Enforce: a spec edit of steps drops them',
    spec: specOf({ runtime: { steps: 12 } }),
    want: runs(12, 4),
  },
  {
    name: 'Enforce: maxReplicas lowered under what was set',
    spec: specOf({ autoscaling: { maxReplicas: 3 } }),
    want: runs(7, 3),
  },
  {
    name: 'DryRun: the spec runs',
    spec: specOf({ autoscaling: { mode: 'DryRun' } }),
    want: runs(9, 4),
  },
  { name: 'Off: the spec runs', spec: specOf({ autoscaling: { mode: 'Off' } }), want: runs(9, 4) },
];

describe('what runs after a fresh decision', () => {
  it.each(rows)('$name', ({ spec, want }) => {
    const cr = objectOf(spec);
    const now = t0 + 60_000;
    // Every signal missing: the decision holds (no quality move), so only the spec, the state
    // and the bounds decide what runs.
    const sampled =
      spec.autoscaling.mode === 'Off'
        ? undefined
        : { at: now, direct: allMissing('SourceDown', 'test: source down') };
    const { effective, decision } = decideOn({ cr, pods: [], sampled, now });
    expect(effective).toMatchObject(want);
    expect(effective).toEqual(effectiveOf(cr, decision.state));
  });
});
