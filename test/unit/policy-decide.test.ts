/**
 * decide() as a table: each row a named script of signals over time (one decision per
 * second, time passed in as a value) and what the decisions must add up to. Default rules
 * unless a row says otherwise (api/v1alpha1/default-rules.ts): gpu-saturated > 90 (clears 81) for
 * 5 s, cooldown 30 s, +1 pod; vram-pressure > 0.875 for 5 s -> offload; slow-generation p95
 * > 15 s for 30 s, cooldown 60 s, +1 pod; idle < 30 (clears 33) for 5 min, -1 pod. Bounds
 * 1..4, 2 replicas to start, steps 9 (8 passes; the floor is 5 steps = 4 passes).
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/operator/policy/decide.ts';
import { lastActionText } from '../../src/operator/policy/outcome.ts';
import { holdRows } from '../support/policy-rows-hold.ts';
import { scaleRows } from '../support/policy-rows-scale.ts';
import { twoNotchesAtMax } from '../support/policy-rows.ts';
import { fromStatus, play, signalsOf, specOf, t0, type Run } from '../support/policy-script.ts';

const rows = [...scaleRows, ...holdRows];

describe('decide() table', () => {
  it('has at least 30 rows', () => expect(rows.length).toBeGreaterThanOrEqual(30));

  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    play(specOf(row.spec), row.script, {
      state: undefined,
      replicas: row.replicas ?? 2,
      world: {},
    });
  });
});

describe('decide() state in status', () => {
  it('an operator restart mid-window continues the window from status', () => {
    const spec = specOf();
    const first: Run = { state: undefined, replicas: 2, world: {} };
    play(spec, [{ at: 0, to: 3, set: { gpu: 95 }, want: { actions: [] } }], first);
    const stored: unknown = JSON.parse(JSON.stringify(first.state));
    const restarted: Run = {
      state: fromStatus(stored),
      replicas: 2,
      world: { gpu: 95 },
    };
    play(
      spec,
      [
        { at: 4, want: { actions: [] } },
        { at: 5, want: { actions: ['scale 2 -> 3', 'steps 9 -> 8'] } },
      ],
      restarted,
    );
  });

  it('a spec edit of steps drops the overrides and starts from the new value', () => {
    const run: Run = { state: undefined, replicas: 4, world: {} };
    play(specOf(), twoNotchesAtMax, run);
    expect(run.state?.effective.steps).toBe(7);
    const edited = specOf({ runtime: { steps: 12 } });
    const next = decide(signalsOf({ gpu: 50 }, 4), run.state, edited, t0 + 36_000);
    expect(next.state.effective.steps).toBe(12);
    expect(next.state.qualityLevel).toBe(0);
  });

  it('a manual scale leaves a history entry whose reason says it was overruled', () => {
    const run: Run = { state: undefined, replicas: 2, world: {} };
    play(specOf(), [{ at: 0 }, { at: 1, set: { replicas: 4 } }], run);
    const entry = run.state?.history.at(-1);
    expect(entry).toMatchObject({
      rule: 'policy:manual-scale',
      action: 'scale',
      from: '4',
      to: '2',
      dryRun: false,
    });
    expect(entry?.reason).toMatch(/^ManualScaleOverruled: spec.replicas was changed to 4/);
    expect(lastActionText(run.state!.history)).toBe('scale 4 -> 2 by policy:manual-scale');
  });

  it('a rule that raises steps against the ladder unwinds it instead of stacking notches', () => {
    // The seed's rule 3 ("slower than 15 s -> steps 16") at maxReplicas with images that stay
    // slow: the ladder lowers steps one notch per cooldown and the rule sets 16 again. Before,
    // each round stacked two notches, and status stopped validating at 64 (`ladderLimit`).
    const spec = specOf({
      autoscaling: {
        rules: [
          {
            name: 'gpu-over-90-for-5s',
            signal: 'gpuUtilization',
            operator: 'Above',
            threshold: 90,
            for: '5s',
            action: { type: 'Scale', scale: { by: 1 } },
          },
          {
            name: 'slower-than-15s',
            signal: 'latencyP95Seconds',
            operator: 'Above',
            threshold: 15,
            for: '0s',
            action: { type: 'Steps', steps: { set: 16 } },
          },
        ],
      },
    });
    const run: Run = { state: undefined, replicas: 4, world: {} };
    const last = play(spec, [{ at: 0, to: 3600, set: { gpu: 99, latency: 19 } }], run);
    const moves = last.state.history.filter((h) => h.action === 'steps').map((h) => h.to);
    expect(moves.length).toBeGreaterThanOrEqual(4);
    expect(new Set(moves)).toEqual(new Set(['15', '16']));
    expect(last.state.ladder.length).toBeLessThanOrEqual(2);
  });
});
