/**
 * The replica-only baselines against their documented formulas: the pure steps (the HPA's
 * replica calculators and behavior, the KPA's Scale()) on numbers worked out by hand, then
 * each controller fed hand-made samples (one per second) and ticked at its own period.
 */
import { describe, expect, it } from 'vitest';
import type { Command, Controller } from '../../src/sim/controllers/controller.ts';
import {
  externalPerPodReplicas,
  gpuUtilizationReplicas,
  hpa,
  normalize,
  podsMetricReplicas,
  type HpaState,
} from '../../src/sim/controllers/hpa.ts';
import { keda } from '../../src/sim/controllers/keda.ts';
import { kpa, kpaScale, type KpaState } from '../../src/sim/controllers/kpa.ts';
import { windowOf, type Sample, type SampleSource } from '../../src/sim/recorder.ts';

const bounds = { minReplicas: 1, maxReplicas: 20 };

function sample(t: number, over: Partial<Sample>): Sample {
  return {
    t,
    util: 50,
    utilGpus: 50,
    gpuPods: 2,
    vramRatio: 0.3,
    vramBytes: 0,
    queue: 0,
    inflight: 0,
    pending: 0,
    replicas: 2,
    ready: 2,
    latencyP95: 1,
    waitP95: 1,
    ...over,
  };
}

/**
 * Feed `world(t)` once a second up to `until`, ticking the controller at its period; the
 * fleet follows the controller at once (replicas, Ready and GPU pods). Returns each tick's
 * command with the replicas after it, by time.
 */
function drive(c: Controller, until: number, world: (t: number) => Partial<Sample>) {
  const samples: Sample[] = [];
  let replicas = 2;
  const source: SampleSource = { samples, window: (s) => windowOf(samples, samples.at(-1)!.t, s) };
  const out = new Map<number, Command & { replicas: number }>();
  for (let t = 1; t <= until; t++) {
    samples.push(sample(t, { replicas, ready: replicas, gpuPods: replicas, ...world(t) }));
    if (t % c.periodSeconds !== 0) continue;
    const command = c.tick(t, source);
    replicas = command.replicas ?? replicas;
    out.set(t, { ...command, replicas });
  }
  return out;
}

const replicasAt = (out: ReturnType<typeof drive>, ...ts: number[]) =>
  ts.map((t) => out.get(t)!.replicas);

describe('HPA, a Pods metric (calcPlainMetricReplicas, tolerance 0.1)', () => {
  const pods = { current: 4, reporting: 4, ready: 4, missing: 0, pending: 0 };
  it.each([
    // 100 / 50 = 2: ceil(4 x 2) = 8.
    { name: '4 pods at 100% of a 50% target double', m: { ...pods, mean: 100 }, want: 8 },
    // 54 / 50 = 1.08: within 10%.
    { name: 'within the tolerance nothing moves', m: { ...pods, mean: 54 }, want: 4 },
    // 56 / 50 = 1.12: ceil(4 x 1.12) = ceil(4.48) = 5.
    { name: 'just past the tolerance: one more', m: { ...pods, mean: 56 }, want: 5 },
    // 20 / 50 = 0.4: ceil(4 x 0.4) = ceil(1.6) = 2.
    { name: 'a scale-down goes straight to its count', m: { ...pods, mean: 20 }, want: 2 },
    // 60 / 50 = 1.2 would give ceil(4.8) = 5; with 2 Pending at 0: 240 / (6 x 50) = 0.8 < 1,
    // the direction reverses: no change.
    {
      name: 'Pending pods at 0 can cancel a scale-up',
      m: { ...pods, mean: 60, pending: 2 },
      want: 4,
    },
    // 80 / 50 = 1.6 would give ceil(6.4) = 7; 2 pods without a value at 0: 320 / 300 = 1.07.
    {
      name: 'pods without a value count 0 on a scale-up',
      m: { ...pods, current: 6, mean: 80, missing: 2 },
      want: 6,
    },
    // 20 / 50 = 0.4 would give 2; 2 pods without a value at the target: (80 + 100) / 300 = 0.6,
    // ceil(6 x 0.6) = ceil(3.6) = 4.
    {
      name: 'pods without a value count at the target on a scale-down',
      m: { ...pods, current: 6, mean: 20, missing: 2 },
      want: 4,
    },
  ])('$name', ({ m, want }) => {
    expect(podsMetricReplicas(m, 50)).toBe(want);
  });
});

describe('HPA, an External metric per pod (GetExternalPerPodMetricReplicas)', () => {
  it.each([
    // 12 / (2 x 2) = 3: ceil(12 / 2) = 6.
    { name: '12 requests in 2 pods at 2 a pod', status: 2, total: 12, want: 6 },
    // 17 / (8 x 2) = 1.06: within 10%.
    { name: 'within the tolerance: the pods as they are', status: 8, total: 17, want: 8 },
    // 9 / (4 x 2) = 1.125: ceil(9 / 2) = 5.
    { name: 'past it: the total over the target', status: 4, total: 9, want: 5 },
  ])('$name', ({ status, total, want }) => {
    expect(externalPerPodReplicas(status, total, 2)).toBe(want);
  });
});

describe('HPA behavior, the defaults (0 s up / 300 s down stabilization, max(100%, 4) per 15 s)', () => {
  const fresh = (): HpaState => ({ recommendations: [], scaleEvents: [] });
  /** Syncs of [time, current replicas, proposal]; the scale events follow the results. */
  function syncs(rows: [number, number, number][], b = bounds) {
    const state = fresh();
    return rows.map(([now, current, proposed]) => {
      const out = normalize(state, now, current, proposed, b);
      if (out !== current) state.scaleEvents.push({ at: now, change: out - current });
      return out;
    });
  }

  it.each([
    // From 2: max(ceil(2 x 2), 2 + 4) = 6.
    { name: 'scale-up is at most max(100%, 4 pods)', rows: [[0, 2, 20]], want: [6] },
    // From 10: max(20, 14) = 20.
    { name: 'past 4 pods, 100% allows more', rows: [[0, 10, 40]], want: [20] },
    // 2 -> 6 at 0 s; at 10 s the period began at 2 (6 - 4): its limit 6 holds; at 15 s the
    // event at 0 s has left (0 is not after 15 - 15): from 6, max(12, 10) = 12.
    {
      name: 'the limit counts from the replicas when the 15 s began',
      rows: [
        [0, 2, 20],
        [10, 6, 20],
        [15, 6, 20],
      ],
      want: [6, 6, 12],
    },
    // 8 proposed at 0 s, then 2: the highest proposal within (now - 300, now] is 8 until 300 s.
    {
      name: 'scale-down waits for the highest proposal of 300 s to leave',
      rows: [
        [0, 8, 8],
        [15, 8, 2],
        [285, 8, 2],
        [300, 8, 2],
      ],
      want: [8, 8, 8, 2],
    },
    // Percent 100 per 15 s: down to minReplicas (1) in one sync.
    { name: 'scale-down has no rate limit but minReplicas', rows: [[0, 8, 0]], want: [1] },
    {
      name: 'never past maxReplicas',
      rows: [[0, 6, 40]],
      want: [8],
      b: { ...bounds, maxReplicas: 8 },
    },
  ] as { name: string; rows: [number, number, number][]; want: number[]; b?: typeof bounds }[])(
    '$name',
    ({ rows, want, b }) => {
      expect(syncs(rows, b)).toEqual(want);
    },
  );
});

describe('HPA on dcgm GPU utilization (15 s sync, the value of the last 30 s collection)', () => {
  const hpa50 = () => hpa({ ...bounds, name: 'hpa', metric: gpuUtilizationReplicas(50) });

  it('doubles 2 pods at 100% of 50%, then holds: new pods have no value yet', () => {
    // 15 s: no collection yet (the first at 30 s): nothing. 30 s: 2 pods at 100%: ceil(2 x 2)
    // = 4. 45 s: still the 30 s value, 2 pods of 4 reporting, 2 missing at 0: 200 / 200 = 1.
    const out = drive(hpa50(), 45, () => ({ utilGpus: 100 }));
    expect(out.get(15)).toEqual({ replicas: 2 });
    expect(replicasAt(out, 30, 45)).toEqual([4, 4]);
  });

  it('misses a burst between two collections', () => {
    // On target (50%) but busy from 31 s to 59 s: the collections at 30 s and 60 s see 50%,
    // so every sync stays at 2 (a 15 s mean of 1 s samples would have seen 100% at 45 s: 4).
    const out = drive(hpa50(), 60, (t) => ({ utilGpus: t > 30 && t < 60 ? 100 : 50 }));
    expect(replicasAt(out, 30, 45, 60)).toEqual([2, 2, 2]);
  });
});

describe('KEDA (a Prometheus trigger, AverageValue 2, into its HPA)', () => {
  // 2 generating + 2 queued in 2 pods (on target) jump to 2 + 10 at 16 s.
  const world = (t: number) => ({ inflight: 2, queue: t > 15 ? 10 : 2 });

  it('the HPA asks at each 15 s sync and KEDA queries then: 12 / 2 = 6 at 30 s', () => {
    expect(replicasAt(drive(keda(bounds), 45, world), 15, 30)).toEqual([2, 6]);
  });

  it('with useCachedMetrics the value of the 30 s poll: the 15 s one until 45 s', () => {
    const out = drive(keda(bounds, { cachedMetrics: true }), 45, world);
    expect(replicasAt(out, 15, 30, 45)).toEqual([2, 2, 6]);
  });
});

describe('Knative KPA Scale() (target 0.7, 60 s stable / 6 s panic, 200%, rates 1000 / 2)', () => {
  const fresh = (): KpaState => ({ panicTime: undefined, maxPanicPods: 0 });

  it.each([
    // ceil(3.5 / 0.7) = 5; the panic window asks the same: 5 / 5 < 2, no panic.
    { name: 'stable: ceil(concurrency / 0.7)', o: { ready: 5, stable: 3.5, panic: 3.5 }, want: 5 },
    // ceil(0 / 0.7) = 0, but at most halving: floor(10 / 2) = 5.
    { name: 'scale-down at most halves', o: { ready: 10, stable: 0, panic: 0 }, want: 5 },
    // ready 0 counts as 1: floor(1 / 2) = 0, and ceil(1.4 / 0.7) = 2.
    { name: 'no Ready pod counts as one', o: { ready: 0, stable: 1.4, panic: 1.4 }, want: 2 },
  ])('$name', ({ o, want }) => {
    expect(kpaScale(fresh(), 0, o).desired).toBe(want);
  });

  it('panics at 2x, never scales down in panic, leaves 60 s after the last reading over', () => {
    const state = fresh();
    const at = (now: number, stable: number, panic: number) =>
      kpaScale(state, now, { ready: 2, stable, panic }).desired;
    // 2.8 / 0.7 = 4 = 2 x 2 Ready: panic; max(ceil(1.4 / 0.7) = 2, 4) = 4.
    expect(at(0, 1.4, 2.8)).toBe(4);
    // Still in panic (entered at 0 s): the panic window falls to 2, the count stays 4.
    expect(at(2, 1.4, 1.4)).toBe(4);
    // 60 s after 0 s is not yet past it: 4. At 62 s: stable again, ceil(1.4 / 0.7) = 2.
    expect(at(60, 1.4, 1.4)).toBe(4);
    expect(at(62, 1.4, 1.4)).toBe(2);
  });

  it.each([
    // floor(8 x 1 - 211 - 3) = -206: the activator stays in the path.
    { ready: 8, panic: 3, want: -206 },
    // floor(300 - 211 - 10.5) = 78: burst capacity to spare.
    { ready: 300, panic: 10.5, want: 78 },
  ])('excess burst capacity: $ready Ready, $panic in flight -> $want', ({ ready, panic, want }) => {
    expect(kpaScale(fresh(), 0, { ready, stable: panic, panic }).excessBurstCapacity).toBe(want);
  });

  it('the controller keeps the activator in the path of 2 Ready pods (EBC < 0)', () => {
    // 1 request throughout: ceil(1 / 0.7) = ceil(1.43) = 2 pods, EBC = floor(2 - 211 - 1) = -210.
    const out = drive(kpa(bounds), 120, () => ({ inflight: 1, queue: 0 }));
    expect(out.get(120)).toEqual({ replicas: 2, activator: true });
  });
});
