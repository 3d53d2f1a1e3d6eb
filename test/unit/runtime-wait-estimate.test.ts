/**
 * The Retry-After estimate (src/contract/wait-estimate.ts): each row is a history of finished
 * images, the work admitted now, and the seconds a refused client is told to wait, with the
 * arithmetic in the row's name or comment.
 */
import { describe, expect, it } from 'vitest';
import { WaitEstimator, type ImageTiming, type Work } from '../../src/contract/wait-estimate.ts';

const image = (width: number, height: number, steps: number, images = 1): Work => ({
  images,
  width,
  height,
  steps,
});

/** A finished image: `stepMs` per step, `restMs` for encode + decode. */
const timed = (
  width: number,
  height: number,
  steps: number,
  stepMs: number,
  restMs: number,
): ImageTiming => ({
  width,
  height,
  steps,
  denoiseMs: steps * stepMs,
  totalMs: steps * stepMs + restMs,
});

interface Row {
  name: string;
  history: ImageTiming[];
  running?: { work: Work; elapsedMs: number };
  queued: Work[];
  maxSeconds?: number;
  seconds: number;
}

const rows: Row[] = [
  {
    // Prior: 9 x 1 s + 1 s at 1024^2.
    name: 'no history: a 9-step 1024x1024 image is 10 s',
    history: [],
    queued: [image(1024, 1024, 9)],
    seconds: 10,
  },
  {
    name: 'no history: a 512x512 image is a quarter of that, 2.5 s -> 3',
    history: [],
    queued: [image(512, 512, 9)],
    seconds: 3,
  },
  {
    name: 'no history: 4 images of 512x512 in one request, 4 x 2.5 = 10 s',
    history: [],
    queued: [image(512, 512, 9, 4)],
    seconds: 10,
  },
  {
    name: 'no history: steps count, 50 x 1 s + 1 s = 51 s',
    history: [],
    queued: [image(1024, 1024, 50)],
    seconds: 51,
  },
  {
    // Learned 150 ms/step and 2000 ms rest at 1024^2: 50 x 150 + 2000 = 9500 ms.
    name: 'learned rates replace the prior',
    history: [timed(1024, 1024, 9, 150, 2000)],
    queued: [image(1024, 1024, 50)],
    seconds: 10,
  },
  {
    // The issue-8 case: 256^2 images at 20 ms/step + 20 ms rest (320 and 320 ms at 1024^2),
    // then three 1024^2 9-step images queued: 3 x (9 x 320 + 320) = 9600 ms. Counting
    // requests at the recent per-image time would say 3 x 0.2 s -> 1 s.
    name: 'after small images, big queued ones count by their pixels',
    history: [timed(256, 256, 9, 20, 20), timed(256, 256, 9, 20, 20)],
    queued: [image(1024, 1024, 9), image(1024, 1024, 9), image(1024, 1024, 9)],
    seconds: 10,
  },
  {
    // Ratio of sums: denoise (9 x 400 + 9 x 25) ms over (9 + 9/16) 1024^2-steps = 400 ms;
    // rest (1000 + 62.5) ms over 1 + 1/16 images = 1000 ms. A mean of per-image rates would
    // be the same here; a mean of per-image times would say (4600 + 287.5) / 2 = 2.4 s.
    name: 'big and small images in the history weigh by their pixels',
    history: [timed(1024, 1024, 9, 400, 1000), timed(256, 256, 9, 25, 62.5)],
    queued: [image(1024, 1024, 9)],
    seconds: 5,
  },
  {
    // Prior: 10 s for the running one, 4 s of it done; + 2.5 s queued = 8.5 s.
    name: 'the running request counts what is left of it',
    history: [],
    running: { work: image(1024, 1024, 9), elapsedMs: 4_000 },
    queued: [image(512, 512, 9)],
    seconds: 9,
  },
  {
    name: 'a running request past its estimate counts 0, never less',
    history: [],
    running: { work: image(1024, 1024, 9), elapsedMs: 60_000 },
    queued: [image(512, 512, 9)],
    seconds: 3,
  },
  {
    name: 'at least 1 s',
    history: [timed(64, 64, 2, 1, 1)],
    queued: [image(64, 64, 2)],
    seconds: 1,
  },
  {
    name: 'at most maxSeconds (the request deadline)',
    history: [],
    queued: [image(1024, 1024, 50), image(1024, 1024, 50), image(1024, 1024, 50)],
    maxSeconds: 120,
    seconds: 120,
  },
  {
    name: 'an observation with impossible timings is ignored',
    history: [{ width: 1024, height: 1024, steps: 9, denoiseMs: Number.NaN, totalMs: 5 }],
    queued: [image(1024, 1024, 9)],
    seconds: 10,
  },
];

describe('Retry-After estimate', () => {
  it.each(rows)('$name', ({ history, running, queued, maxSeconds, seconds }) => {
    const estimator = new WaitEstimator();
    for (const t of history) estimator.observe(t);
    expect(estimator.waitSeconds(running, queued, maxSeconds ?? 3_600)).toBe(seconds);
  });

  it('learns from the last 20 images only', () => {
    const estimator = new WaitEstimator();
    estimator.observe(timed(1024, 1024, 9, 5_000, 5_000));
    for (let i = 0; i < 20; i++) estimator.observe(timed(1024, 1024, 9, 100, 100));
    expect(estimator.rates()).toEqual({ stepMs: 100, restMs: 100 });
  });

  it('takes a custom prior', () => {
    const estimator = new WaitEstimator({ stepMs: 100, restMs: 200 });
    expect(estimator.workMs(image(1024, 1024, 8))).toBe(1_000);
  });
});
