/**
 * The replica-only baselines, each against its documented defaults, fed hand-made samples
 * (one per second) and ticked at their own periods.
 */
import { describe, expect, it } from 'vitest';
import type { Controller } from '../../src/sim/controllers/controller.ts';
import { gpuUtilization, hpa } from '../../src/sim/controllers/hpa.ts';
import { keda } from '../../src/sim/controllers/keda.ts';
import { kpa } from '../../src/sim/controllers/kpa.ts';
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
 * fleet follows the controller at once (replicas, Ready and GPU pods). Returns replicas after
 * each tick, by time.
 */
function drive(c: Controller, until: number, world: (t: number) => Partial<Sample>) {
  const samples: Sample[] = [];
  let replicas = 2;
  const source: SampleSource = { samples, window: (s) => windowOf(samples, samples.at(-1)!.t, s) };
  const out = new Map<number, number>();
  for (let t = 1; t <= until; t++) {
    samples.push(sample(t, { replicas, ready: replicas, gpuPods: replicas, ...world(t) }));
    if (t % c.periodSeconds !== 0) continue;
    replicas = c.tick(t, source).replicas ?? replicas;
    out.set(t, replicas);
  }
  return out;
}

const hpa80 = () => hpa({ ...bounds, name: 'hpa', target: 80, metric: (r) => gpuUtilization(r) });

describe('HPA baseline (15 s sync, 10% tolerance, 300 s scale-down stabilization)', () => {
  it('within 10% of the target nothing moves: 2 pods at 86% of 80 stay 2', () => {
    expect(drive(hpa80(), 60, () => ({ utilGpus: 86 })).get(60)).toBe(2);
  });

  it('out of tolerance: ceil(2 x 100/80) = 3 at the first sync', () => {
    expect(drive(hpa80(), 15, () => ({ utilGpus: 100 })).get(15)).toBe(3);
  });

  it('scale-up is at most max(100%, 4 pods) per sync', () => {
    const c = hpa({ ...bounds, name: 'hpa', target: 10, metric: (r) => gpuUtilization(r) });
    // 2 pods at 100% of a 10% target want 20; one sync allows 2 + 4 = 6.
    expect(drive(c, 15, () => ({ utilGpus: 100 })).get(15)).toBe(6);
  });

  it('scale-down waits for the highest recommendation of the last 300 s to fall', () => {
    const r = drive(hpa80(), 700, (t) => ({ utilGpus: t <= 30 ? 100 : 10 }));
    // Up to 3 at 15 s (then 4 at 30 s); the load falls at 31 s; down only once 300 s pass.
    expect(r.get(30)).toBe(4);
    expect(r.get(315)).toBe(4);
    expect(r.get(345)).toBeLessThan(4);
  });
});

describe('KEDA baseline (30 s polling into an HPA)', () => {
  it('sees a new value only at the next poll, then scales on requests per pod (target 2)', () => {
    // 4 requests in 2 pods (on target) jump to 12 at 16 s: the poll at 15 s saw 4, the one at
    // 45 s sees 12: 6 per pod, ceil(2 x 6/2) = 6.
    const r = drive(keda(bounds), 60, (t) => ({ inflight: 2, queue: t > 15 ? 10 : 2 }));
    expect(r.get(30)).toBe(2);
    expect(r.get(45)).toBe(6);
  });
});

describe('Knative KPA baseline (60 s stable, 6 s panic, 2 s tick, target 0.7 per pod)', () => {
  it('stable mode: ceil(average concurrency / 0.7)', () => {
    expect(drive(kpa(bounds), 120, () => ({ inflight: 2, queue: 1 })).get(120)).toBe(5);
  });

  it('panics when the 6 s window asks for 2x the Ready pods, and holds for 60 s', () => {
    const r = drive(kpa(bounds), 200, (t) => ({
      inflight: 2,
      queue: t > 100 && t <= 106 ? 10 : 0,
    }));
    // The 6 s window at 106 s holds 6 samples of 12 -> ceil(12 / 0.7) = 18.
    expect(r.get(106)).toBe(18);
    // The stable window would give less, but panic holds until 60 s after the last panic.
    expect(r.get(160)).toBe(18);
    expect(r.get(200)).toBeLessThan(18);
  });
});
