/**
 * The router in the simulated fleet (src/sim/router.ts, running the router's own pick() and
 * admit()) against numbers worked out by hand from the card model, with a fixed fleet (a
 * scripted controller that never scales), and against the Service's random pods.
 */
import { describe, expect, it } from 'vitest';
import { cards, stageSeconds } from '../../src/contract/card.ts';
import type { QualitySettings } from '../../src/operator/api/v1alpha1/status.ts';
import type { Controller } from '../../src/sim/controllers/controller.ts';
import { modelOf, type SimModel } from '../../src/sim/model.ts';
import { simulate, type Routing } from '../../src/sim/run.ts';
import type { TraceRow } from '../../src/sim/trace-csv.ts';
import { builtinTrace, generate, multiImageCounts, podRequestRate } from '../../src/sim/traces.ts';
import { specOf } from '../support/policy-script.ts';

const h100 = cards['h100-80gb'];
const full: QualitySettings = { steps: 9, offload: 'none', attention: 'flash' };
/** One 1024x1024 image on the H100 at full quality: 1.22 s. */
const image = stageSeconds(h100, { width: 1024, height: 1024, precision: 'bf16', ...full }).total;

const model = (over: Partial<SimModel> = {}): SimModel => ({
  ...modelOf(specOf({ gpu: { memoryGiB: 80 } }), { card: h100 }),
  startupSeconds: 100,
  ...over,
});

const fixed: Controller = { name: 'fixed', periodSeconds: 1, log: [], tick: () => ({}) };

const at = (offsetSeconds: number, n = 1): TraceRow => ({
  offsetSeconds,
  size: { width: 1024, height: 1024 },
  n,
});
const times = (k: number, row: TraceRow) => Array.from({ length: k }, () => row);

interface Setup {
  trace: TraceRow[];
  pods: number;
  model?: Partial<SimModel>;
  routing?: Routing;
  seed?: number;
}
const run = ({ trace, pods, model: over = {}, routing = 'router', seed = 1 }: Setup) =>
  simulate(trace, fixed, { model: model(over), quality: full, replicas: pods, seed, routing });

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

describe('the router in the simulated fleet', () => {
  it.each([
    {
      name: 'four single images on three idle pods: three at once, the fourth on the first pod free',
      setup: { trace: times(4, at(0)), pods: 3 },
      latencies: [image, image, image, 2 * image],
    },
    {
      name: 'an n=8 request on three idle pods spreads 3+3+2: answered after 3 images, not 8',
      setup: { trace: [at(0, 8)], pods: 3 },
      latencies: Array(8).fill(3 * image),
    },
    {
      name: 'behind a Service the same request runs its 8 images back to back on one pod',
      setup: { trace: [at(0, 8)], pods: 3, routing: 'service' as const },
      latencies: Array(8).fill(8 * image),
    },
    {
      name: 'an image arriving behind a 3-image request waits in the router, then takes the other pod',
      // Two pods take images 1 and 2 at 0 s; at 1.22 s both free: image 3 and the late one.
      setup: { trace: [at(0, 3), at(0.5)], pods: 2 },
      latencies: [2 * image - 0.5, 2 * image, 2 * image, 2 * image],
    },
    {
      name: 'a 429 for a full queue is retried after its Retry-After (the work ahead, 2 s) and served',
      setup: { trace: [at(0), at(0)], pods: 1, model: { routerMaxQueue: 0 } },
      latencies: [image, 2 + image],
    },
  ])('$name', ({ setup, latencies }) => {
    const r = run(setup).results;
    expect(sorted(r.latencies).map((l) => l.toFixed(6))).toEqual(
      sorted(latencies).map((l) => l.toFixed(6)),
    );
    expect(r.served).toBe(latencies.length);
  });

  it.each([
    {
      name: 'past the queue bound (2 images past the free slots) the 4th request is refused',
      setup: { trace: times(4, at(0)), pods: 1, model: { routerMaxQueue: 2, retries: 0 } },
      served: 3,
      lost: { rejected: 1, unavailable: 0, timeout: 0, refused: 0 },
    },
    {
      name: 'a request that would finish past its deadline (8 x 1.22 s > 5 s) is refused at once',
      setup: { trace: [at(0, 8), at(1)], pods: 1, model: { deadlineSeconds: 5, retries: 0 } },
      served: 1,
      lost: { rejected: 8, unavailable: 0, timeout: 0, refused: 0 },
    },
    {
      name: 'the 16 GB card cannot hold 1024x1024 without offload: the pod’s 413 fails the request',
      setup: { trace: [at(0, 2)], pods: 2, model: { card: cards['rtx4090-16gb'] } },
      served: 0,
      lost: { rejected: 0, unavailable: 0, timeout: 0, refused: 2 },
    },
    {
      name: 'with no Ready pod a request waits in the router (no 503) until its deadline: 504',
      setup: { trace: [at(0)], pods: 0 },
      served: 0,
      lost: { rejected: 0, unavailable: 0, timeout: 1, refused: 0 },
    },
  ])('$name', ({ setup, served, lost }) => {
    const r = run(setup).results;
    expect({ served: r.served, lost: r.lost }).toEqual({ served, lost });
  });
});

/**
 * bursty's shape, short: 10 min on 4 pods at 2 pods of load, with 5 (past the 4 pods) for 2 min
 * at 4 min; requests for 1 to 8 images (builtin:multi-image's mix).
 */
function burstyMultiImage(seed: number): TraceRow[] {
  const perPod = podRequestRate(h100, full, 'bf16', undefined, multiImageCounts);
  const shape = (t: number) => (t >= 240 && t < 360 ? 5 : 2);
  return generate({ seconds: 600, shape, perPod, seed, counts: multiImageCounts });
}

describe('the router against random pods on a bursty multi-image trace (4 pods)', () => {
  /** Samples where work waited (in the router or a pod's queue) while a Ready pod ran nothing. */
  const idleWhileWaiting = (routing: Routing) =>
    run({ trace: burstyMultiImage(1), pods: 4, routing }).samples.filter(
      (s) => s.queue > 0 && s.inflight < s.ready,
    ).length;

  it.each([
    { routing: 'router' as const, when: 'never', holds: (n: number) => n === 0 },
    // The check can fail: random pods leave one idle while another's queue holds requests.
    { routing: 'service' as const, when: 'at times', holds: (n: number) => n > 0 },
  ])('behind the $routing, a pod idles while work waits $when', ({ routing, holds }) => {
    expect(holds(idleWhileWaiting(routing))).toBe(true);
  });

  it.each([1, 2, 3])('seed %i: fewer images over 15 s behind the router', (seed) => {
    const trace = burstyMultiImage(seed);
    const late = (routing: Routing) => {
      const r = run({ trace, pods: 4, routing }).results;
      return r.images - r.withinSlo;
    };
    expect(late('router')).toBeLessThan(late('service'));
  });
});

describe('builtin:multi-image', () => {
  const trace = (seed: number) => [...builtinTrace('multi-image', h100, full, 'bf16', seed)];
  const counts = trace(1).map((r) => r.n ?? 1);
  const images = (rows: TraceRow[]) => rows.reduce((s, r) => s + (r.n ?? 1), 0);
  const bursty = images([...builtinTrace('bursty', h100, full, 'bf16', 1)]);
  const share = (n: number) => counts.filter((c) => c === n).length / counts.length;

  it.each([
    {
      name: 'asks for 1 to 8 images',
      got: [Math.min(...counts), Math.max(...counts)],
      want: [1, 8],
    },
    // 3717 requests: the shares within 2 points of the mix's 60% and 5%.
    { name: 'mostly 1 image (60%)', got: Math.abs(share(1) - 0.6) < 0.02, want: true },
    { name: 'a tail to 8 (5%)', got: Math.abs(share(8) - 0.05) < 0.02, want: true },
    {
      // Poisson arrivals of ~3700 requests with E[n^2] = 8.59: one standard deviation is ~2%.
      name: 'bursty’s load in images: as many images within 5%',
      got: Math.abs(images(trace(1)) / bursty - 1) < 0.05,
      want: true,
    },
    { name: 'the same for a seed', got: trace(1), want: trace(1) },
  ])('$name', ({ got, want }) => {
    expect(got).toEqual(want);
  });

  it('another seed draws another trace', () => {
    expect(trace(2)).not.toEqual(trace(1));
  });
});
