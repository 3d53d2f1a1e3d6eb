/**
 * decide() with the router's default rules: scale to demand (policy/demand.ts). Each row a
 * script, one decision a second; the arithmetic in the comments. The default demand rule:
 * target 80% (clears at 72), drain 30 s, stable window 60 s, panic window 10 s, cooldown 60 s.
 * Demand is in image-seconds per second at full quality (GPUs kept busy); steps 9 are 8
 * passes, the floor 5 steps (4 passes).
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/operator/policy/decide.ts';
import { fromStatus, play, signalsOf, specOf, t0, type Step } from '../support/policy-script.ts';

const routed = (autoscaling: Record<string, unknown> = {}) =>
  specOf({ router: { enabled: true }, autoscaling: { maxReplicas: 10, ...autoscaling } });

/** One action for the whole move, however many notches (one history entry). */
const floorSteps = ['steps 9 -> 5'];

interface DemandRow {
  name: string;
  autoscaling?: Record<string, unknown>;
  replicas?: number;
  script: Step[];
}

const rows: DemandRow[] = [
  {
    name: 'burst: quality to the floor at once, then one decision to the panic count',
    script: [
      // 2 Ready pods at 0.5 image-s/s: 31% of 2, nothing to do.
      { at: 0, to: 5, set: { arriving: 0.5 }, want: { actions: [] } },
      // Panic window 7.3: ceil(7.3 / 0.8) = 10 pods >= 2 x 2 Ready. The 2 Ready carry 7.3 at
      // no steps (4 passes: 7.3 x 4/8 = 3.65 > 2): the floor at once, in one decision.
      {
        at: 6,
        set: { burst: 7.3 },
        want: { actions: floorSteps, replicas: 2, steps: 5, level: 4 },
      },
      // Pods once the panic has held 2 s (a fifth of the 10 s window): one decision to 10.
      { at: 7, want: { actions: [] } },
      { at: 8, want: { actions: ['scale 2 -> 10'], replicas: 10 } },
      // 8 still loading: nothing more to do or to give back.
      { at: 9, to: 20, set: { starting: 8, arriving: 6, burst: 6 }, want: { actions: [] } },
      // 4 turn Ready (6 Ready): 6 x p/8 <= 6 x 80% at p = 6 passes (steps 7): two notches
      // back in one decision, none further (p = 7: 5.25 > 4.8).
      {
        at: 21,
        set: { starting: 4 },
        want: { actions: ['steps 5 -> 7'], steps: 7, level: 2, replicas: 10 },
      },
      // All 10 Ready: 6 <= 8 at full quality: the rest back, and no pod goes.
      {
        at: 22,
        to: 40,
        set: { starting: 0 },
        want: { actions: ['steps 7 -> 9'], steps: 9, level: 0, replicas: 10 },
      },
    ],
  },
  {
    name: 'ramp: over the target on the stable window, to the count that brings it back',
    script: [
      {
        at: 0,
        to: 4,
        set: { arriving: 1.5 },
        want: { actions: [], rules: { demand: 'Inactive' } },
      },
      // 1.8 on 2 replicas: 90% > 80: ceil(1.8 / 0.8) = 3. The 2 Ready carry 1.8 (< 2): no
      // quality move while the third loads.
      {
        at: 5,
        set: { arriving: 1.8 },
        want: { actions: ['scale 2 -> 3'], rules: { demand: 'Firing' }, steps: 9 },
      },
      // 1.8 on 3 replicas (1 loading): 60%: Inactive, nothing more.
      {
        at: 6,
        to: 30,
        set: { starting: 1 },
        want: { actions: [], rules: { demand: 'Inactive' }, replicas: 3 },
      },
    ],
  },
  {
    name: 'drain: queued work counts over the drain horizon',
    script: [
      // 0.8 arriving + 60 s queued / 30 s = 2.8: ceil(2.8 / 0.8) = 4, twice the 2 Ready: a
      // burst, confirmed 2 s on. The 2 Ready carry 2.8 x p/8 <= 2 at p = 5 passes: steps 6,
      // at once.
      {
        at: 0,
        set: { arriving: 0.8, queuedImages: 50, queuedWork: 60 },
        want: { actions: ['steps 9 -> 6'], replicas: 2, steps: 6, level: 3 },
      },
      // The routers price their queue at the live steps: 60 x 5/8 = 37.5 s at steps 6.
      { at: 1, set: { queuedWork: 37.5 }, want: { actions: [] } },
      { at: 2, want: { actions: ['scale 2 -> 4'], replicas: 4 } },
    ],
  },
  {
    name: 'missing router signal: hold, and say which',
    script: [
      {
        at: 0,
        to: 30,
        set: { arriving: 5, missing: { arrivedWorkPerSecond: 'SourceDown' } },
        want: {
          actions: [],
          replicas: 2,
          conditions: ['MetricsAvailable=False/SourceDown'],
          message: /arrivedWorkPerSecond: SourceDown/,
        },
      },
    ],
  },
  {
    name: 'at maxReplicas: no pod past it; the Ready pods carry the demand at lower steps',
    autoscaling: { maxReplicas: 4 },
    replicas: 4,
    script: [
      // 4.8 on 4: 120% -> 6 pods, capped at 4. 4 x 100% carries 4.8 x p/8 at p <= 6.67: 6
      // passes, steps 7.
      {
        at: 0,
        set: { arriving: 4.8 },
        want: {
          actions: ['steps 9 -> 7'],
          replicas: 4,
          conditions: ['ScalingLimited=True/AtMaxReplicas'],
        },
      },
      { at: 1, to: 60, want: { actions: [], steps: 7 } },
    ],
  },
  {
    name: 'pods Pending for GPUs: no more replicas, quality for the Ready ones',
    replicas: 4,
    script: [
      // 4 replicas, 2 Pending: 2 Ready carry 4 x p/8 <= 2 at p <= 4: the floor.
      {
        at: 0,
        set: { arriving: 4, pending: 2 },
        want: { actions: floorSteps, replicas: 4, conditions: ['ScalingLimited=True/PodsPending'] },
      },
    ],
  },
  {
    name: 'scale-in: a stable window of fewer pods, to the clear level, at most halving',
    replicas: 8,
    script: [
      // 1.0 on 8 replicas: ceil(1.0 / 0.72) = 2, at most halving: 4. Not before the window.
      { at: 0, to: 59, set: { arriving: 1 }, want: { actions: [] } },
      { at: 60, want: { actions: ['scale 8 -> 4'], replicas: 4 } },
      // A stable window again (since the last scale and of fewer pods): 4 -> 2.
      { at: 61, to: 119, want: { actions: [] } },
      { at: 120, to: 200, want: { actions: ['scale 4 -> 2'], replicas: 2 } },
    ],
  },
  {
    name: 'no scale-in before the arrival window is filled (a router just started)',
    replicas: 6,
    script: [{ at: 0, to: 200, set: { arriving: 0.5, windowSeconds: 20 }, want: { actions: [] } }],
  },
  {
    name: 'no scale-in below the spec quality: the notches come back first',
    autoscaling: { maxReplicas: 4 },
    replicas: 4,
    script: [
      { at: 0, set: { arriving: 4.8 }, want: { actions: ['steps 9 -> 7'], level: 2 } },
      // Load falls to 1. No pod turns Ready (all 4 are): the notches come back once the lower
      // demand has held a stable window since they were taken (60 s), then the scale-in.
      { at: 1, to: 59, set: { arriving: 1 }, want: { actions: [] } },
      { at: 60, want: { actions: ['steps 7 -> 9'], level: 0 } },
      { at: 61, want: { actions: ['scale 4 -> 2'] } },
    ],
  },
  {
    name: 'scale from zero: the first arrival asks for a pod',
    autoscaling: { minReplicas: 0 },
    replicas: 0,
    script: [
      { at: 0, to: 10, set: { arriving: 0 }, want: { actions: [] } },
      // One image waits in the router: 1.2 s / 30 s = 0.04 image-s/s: one pod, no quality
      // move (no Ready pod serves at any quality).
      {
        at: 11,
        set: { queuedImages: 1, queuedWork: 1.2, arriving: 0.02, starting: 1 },
        want: { actions: ['scale 0 -> 1'], replicas: 1, steps: 9 },
      },
    ],
  },
  {
    name: 'scale to zero: nothing arrives or waits for a stable window',
    autoscaling: { minReplicas: 0 },
    replicas: 1,
    script: [
      { at: 0, to: 59, set: { arriving: 0 }, want: { actions: [] } },
      { at: 60, want: { actions: ['scale 1 -> 0'], replicas: 0 } },
    ],
  },
];

describe('decide() scaling to demand', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    play(routed(row.autoscaling), row.script, {
      state: undefined,
      replicas: row.replicas ?? 2,
      world: {},
    });
  });

  it('DryRun shows the arithmetic in the reason and changes nothing', () => {
    const spec = routed({ mode: 'DryRun' });
    let state: ReturnType<typeof decide>['state'] | undefined;
    let d: ReturnType<typeof decide> | undefined;
    for (let t = 0; t <= 2; t++) {
      d = decide(signalsOf({ arriving: 1, burst: 7.3 }, 2), state, spec, t0 + t * 1000);
      state = fromStatus(d.state);
      expect(d.actions).toEqual([]);
    }
    const scale = d!.state.history.find((h) => h.action === 'scale');
    expect(scale).toMatchObject({ from: '2', to: '10', dryRun: true });
    expect(scale!.reason).toBe('ScaledOut: demand 7.3 image-s/s at 80% -> 10 pods (panic window)');
    expect(d!.state.effective.steps).toBe(9);
  });

  it('an unrouted object runs the utilization rules: its demand signals are not read', () => {
    const d = decide(signalsOf({ gpu: 50 }, 2), undefined, specOf(), t0);
    expect(d.state.rules.map((r) => r.name)).toEqual([
      'gpu-saturated',
      'vram-pressure',
      'slow-generation',
      'idle',
    ]);
  });
});
