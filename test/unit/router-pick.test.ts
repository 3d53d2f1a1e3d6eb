/**
 * The router's pure parts: where an image goes (pick), how a request splits (fanOut), and what
 * is admitted (admit). Tables with named rows; no clock, no I/O.
 */
import { describe, expect, it } from 'vitest';
import { admit, type FleetLoad } from '../../src/router/dispatch/admission.ts';
import { fanOut, podBody } from '../../src/router/dispatch/fanout.ts';
import { pick, type PodView } from '../../src/router/dispatch/pick.ts';

const pod = (name: string, over: Partial<PodView> = {}): PodView => ({
  name,
  accepting: true,
  inflight: 0,
  slots: 1,
  busyMs: 0,
  imageMs: 1200,
  lastDispatchAt: -Infinity,
  ...over,
});

describe('pick: the pod expected to finish the image first, among pods with a free slot', () => {
  it.each<[string, PodView[], string | undefined]>([
    ['no pods: the image waits', [], undefined],
    ['the only idle pod', [pod('a')], 'a'],
    ['an idle pod wins over one holding work', [pod('a', { busyMs: 400 }), pod('b')], 'b'],
    [
      'our in-flight work fills the slot: the other pod, although slower',
      [pod('a', { inflight: 1, busyMs: 100 }), pod('b', { busyMs: 5000 })],
      'b',
    ],
    [
      'every slot taken: the image waits',
      [pod('a', { inflight: 1 }), pod('b', { inflight: 2, slots: 2 })],
      undefined,
    ],
    [
      'a second slot: the pod with less reported work, even with ours on it',
      [pod('a', { slots: 2, inflight: 1, busyMs: 300 }), pod('b', { slots: 2, busyMs: 900 })],
      'a',
    ],
    [
      'what the pod reports (other routers) counts: the less loaded pod wins',
      [pod('a', { busyMs: 2400 }), pod('b', { busyMs: 1200 })],
      'b',
    ],
    [
      'a draining pod gets nothing',
      [pod('a', { accepting: false }), pod('b', { busyMs: 9000 })],
      'b',
    ],
    ['only draining pods: the image waits', [pod('a', { accepting: false })], undefined],
    [
      'a faster pod for this image wins at equal load',
      [pod('a', { imageMs: 2000 }), pod('b', { imageMs: 1000 })],
      'b',
    ],
    [
      'a tie goes to the pod unused for the longest',
      [pod('a', { lastDispatchAt: 50 }), pod('b', { lastDispatchAt: 10 })],
      'b',
    ],
    ['a tie between never-used pods goes by name', [pod('b'), pod('a')], 'a'],
    [
      'sub-millisecond differences are ties (fair turns, not float noise)',
      [pod('a', { busyMs: 0.2, lastDispatchAt: 5 }), pod('b', { busyMs: 0.1, lastDispatchAt: 9 })],
      'a',
    ],
    [
      'negative reported work (an old report) counts as idle',
      [pod('a', { busyMs: -50 }), pod('b', { busyMs: 10 })],
      'a',
    ],
  ])('%s', (_name, pods, want) => {
    expect(pick(pods)).toBe(want);
  });

  it('equal pods take turns when the caller records each dispatch', () => {
    const pods = ['a', 'b', 'c'].map((n) => pod(n));
    const order: string[] = [];
    for (let t = 0; t < 6; t++) {
      const name = pick(pods)!;
      order.push(name);
      pods.find((p) => p.name === name)!.lastDispatchAt = t;
    }
    expect(order).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });
});

describe('fanOut: n images with seeds seed, seed+1, ... (mod 2^32), in order', () => {
  const base = { prompt: 'a fox', width: 512, height: 256, steps: undefined };
  it.each<[string, number, number, number[]]>([
    ['one image keeps its seed', 7, 1, [7]],
    ['eight images count up', 100, 8, [100, 101, 102, 103, 104, 105, 106, 107]],
    [
      'seeds wrap at 2^32 as the runtime wraps them',
      2 ** 32 - 2,
      4,
      [2 ** 32 - 2, 2 ** 32 - 1, 0, 1],
    ],
  ])('%s', (_name, seed, n, seeds) => {
    const images = fanOut({ ...base, seed, n });
    expect(images.map((i) => i.seed)).toEqual(seeds);
    expect(images.every((i) => i.prompt === 'a fox' && i.width === 512 && i.height === 256)).toBe(
      true,
    );
  });

  it.each<[string, number | undefined, Record<string, unknown>]>([
    ['steps named: passed on', 5, { prompt: 'a fox', size: '512x256', n: 1, seed: 3, steps: 5 }],
    [
      'steps absent: the pod uses its live steps',
      undefined,
      { prompt: 'a fox', size: '512x256', n: 1, seed: 3 },
    ],
  ])('the pod body: %s', (_name, steps, want) => {
    expect(JSON.parse(podBody({ ...base, steps, seed: 3 }))).toEqual(want);
  });
});

describe('admit: refused at once when the queue is full or the work would miss its deadline', () => {
  const limits = { maxQueuedImages: 16, deadlineMs: 120_000, podStartMs: 30_000 };
  const idle = (pods: number): FleetLoad => ({
    acceptingPods: pods,
    freeSlots: pods,
    busyMs: 0,
    queuedImages: 0,
    queuedMs: 0,
  });
  it.each<[string, { images: number; imageMs: number }, FleetLoad, Record<string, unknown>]>([
    [
      'one image on an idle pod',
      { images: 1, imageMs: 1200 },
      idle(1),
      { admit: true, finishMs: 1200 },
    ],
    [
      '8 images on 3 pods holding 2.4 s: max((2.4 + 9.6) / 3, 3 x 1.2) = 4 s',
      { images: 8, imageMs: 1200 },
      { ...idle(3), freeSlots: 0, busyMs: 2400 },
      { admit: true, finishMs: 4000 },
    ],
    [
      'back to back on one pod bounds the fluid estimate: 3 images, 4 pods -> one image each',
      { images: 3, imageMs: 1200 },
      idle(4),
      { admit: true, finishMs: 1200 },
    ],
    [
      '16 GB card: 8 images of 18.7 s on one pod is 149.6 s, past 120 s',
      { images: 8, imageMs: 18_700 },
      idle(1),
      { admit: false, reason: 'would_miss_deadline', retryAfterSeconds: 1 },
    ],
    [
      'past the deadline behind queued work: Retry-After is the work ahead per pod',
      { images: 1, imageMs: 10_000 },
      { ...idle(2), freeSlots: 0, busyMs: 20_000, queuedImages: 10, queuedMs: 220_000 },
      { admit: false, reason: 'would_miss_deadline', retryAfterSeconds: 120 },
    ],
    [
      'queue full: 10 waiting + 8 new - 1 free slot = 17 > 16',
      { images: 8, imageMs: 100 },
      { ...idle(1), queuedImages: 10, queuedMs: 1000 },
      { admit: false, reason: 'queue_full', retryAfterSeconds: 1 },
    ],
    [
      'at the bound exactly: admitted',
      { images: 7, imageMs: 100 },
      { ...idle(1), queuedImages: 10, queuedMs: 1000 },
      { admit: true },
    ],
    [
      'no pod ready yet (starting, or from zero): a pod starts, then 4 images: 30 + 4.8 = 34.8 s',
      { images: 4, imageMs: 1200 },
      idle(0),
      { admit: true, finishMs: 34_800 },
    ],
    [
      'no pod ready and the buffer full: Retry-After is the pod start time',
      { images: 1, imageMs: 1200 },
      { ...idle(0), queuedImages: 16 },
      { admit: false, reason: 'queue_full', retryAfterSeconds: 30 },
    ],
  ])('%s', (_name, request, load, want) => {
    expect(admit(request, load, limits)).toMatchObject(want);
  });

  // The router's defaults at zero pods: 103 s to start a pod (the card model's H100), images of
  // 10 s (its prior before any answer), 120 s deadline, 64 images of queue.
  const fromZero = { maxQueuedImages: 64, deadlineMs: 120_000, podStartMs: 103_000 };
  it.each<[string, number, Partial<FleetLoad>, number, Record<string, unknown>]>([
    [
      'one image: 103 + 10 = 113 s, inside 120 s: buffered',
      1,
      {},
      120_000,
      { admit: true, finishMs: 113_000 },
    ],
    [
      'two images: 103 + 20 = 123 s: refused at once, Retry-After the start (103 s)',
      2,
      {},
      120_000,
      { admit: false, reason: 'would_miss_deadline', retryAfterSeconds: 103 },
    ],
    [
      'one image behind one queued: 103 + 10 + 10 = 123 s: refused',
      1,
      { queuedImages: 1, queuedMs: 10_000 },
      120_000,
      { admit: false, reason: 'would_miss_deadline', retryAfterSeconds: 103 },
    ],
    [
      'a 30 s deadline: no image can make it; Retry-After 103 s, past the deadline',
      1,
      {},
      30_000,
      { admit: false, reason: 'would_miss_deadline', retryAfterSeconds: 103 },
    ],
    [
      'the queue bound first: 63 waiting + 2 = 65 > 64',
      2,
      { queuedImages: 63, queuedMs: 630_000 },
      120_000,
      { admit: false, reason: 'queue_full', retryAfterSeconds: 103 },
    ],
  ])('from zero pods, %s', (_name, images, load, deadlineMs, want) => {
    const verdict = admit(
      { images, imageMs: 10_000 },
      { ...idle(0), ...load },
      { ...fromZero, deadlineMs },
    );
    expect(verdict).toMatchObject(want);
  });

  it('a refusal says why in numbers', () => {
    const v = admit({ images: 8, imageMs: 18_700 }, idle(1), limits);
    expect(v.admit === false && v.message).toMatch(
      /8 image\(s\) would finish in about 149\.6 s, past the 120\.0 s deadline/,
    );
    const zero = admit({ images: 1, imageMs: 10_000 }, idle(0), {
      ...fromZero,
      deadlineMs: 30_000,
    });
    expect(zero.admit === false && zero.message).toBe(
      '1 image(s) would finish in about 113.0 s, past the 30.0 s deadline (no pod ready: one takes about 103.0 s to start, then 0.0 s of work ahead); retry in 103 s',
    );
  });
});
