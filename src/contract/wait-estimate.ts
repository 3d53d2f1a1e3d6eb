/**
 * The Retry-After estimate: how long until the work admitted now has run, from what that work
 * is (images, size, steps) and how fast recent images ran on this pod.
 *
 * An image costs `steps x stepMs + restMs`, both scaled by its pixels relative to 1024x1024:
 * `stepMs` is one denoising step (a transformer forward and the Euler update), `restMs` the
 * rest of the image (text encoder, VAE decode, PNG, and session creation with offload
 * `model`). Both are learned from the last 20 images as ratios of sums (a 1024^2 image counts
 * 16 times a 256^2 one), so a pod that ran small images and now queues big ones still says
 * the right order of magnitude. Linear in pixels: attention grows faster than that, so after
 * only small images a big one is under-estimated (and vice versa); the window catches up
 * within 20 images.
 *
 * E.g. stepMs 150, restMs 2000 (the tiny model on one CPU thread): a 1024x1024 9-step image
 * is 9 x 150 + 2000 = 3350 ms, a 512x512 one a quarter of that, 837.5 ms.
 *
 * Pure: no clock (the running job's elapsed time is passed in), no I/O.
 */

/** Pixels of the reference size the rates are given at. */
export const referencePixels = 1024 * 1024;

/** What a queued request asks for. */
export interface Work {
  images: number;
  width: number;
  height: number;
  steps: number;
}

/** One finished image, as the engine timed it. */
export interface ImageTiming {
  width: number;
  height: number;
  steps: number;
  /** All denoising steps. */
  denoiseMs: number;
  /** The whole image in the engine, denoising included. */
  totalMs: number;
}

/** Milliseconds at 1024x1024. */
export interface Rates {
  stepMs: number;
  restMs: number;
}

/**
 * Before any image has finished: 1 s per step and 1 s for the rest at 1024x1024, so a 9-step
 * 1024^2 image is 10 s (a slow GPU). A wrong prior only skews the first Retry-After values.
 */
export const priorRates: Rates = { stepMs: 1_000, restMs: 1_000 };

/** Images kept: the last 20, about a minute of work at 3 s each. */
const window = 20;

export class WaitEstimator {
  private readonly recent: ImageTiming[] = [];
  private readonly prior: Rates;

  constructor(prior: Rates = priorRates) {
    this.prior = prior;
  }

  observe(image: ImageTiming): void {
    const { denoiseMs, totalMs } = image;
    if (!Number.isFinite(denoiseMs) || !Number.isFinite(totalMs) || totalMs < denoiseMs) return;
    this.recent.push(image);
    if (this.recent.length > window) this.recent.shift();
  }

  /** Whether any image has been observed (else rates() is the prior). */
  learned(): boolean {
    return this.recent.length > 0;
  }

  /** The rates now: learned from recent images, else the prior. */
  rates(): Rates {
    if (this.recent.length === 0) return this.prior;
    let stepUnits = 0;
    let imageUnits = 0;
    let denoiseMs = 0;
    let restMs = 0;
    for (const image of this.recent) {
      const scale = pixelScale(image);
      stepUnits += image.steps * scale;
      imageUnits += scale;
      denoiseMs += image.denoiseMs;
      restMs += image.totalMs - image.denoiseMs;
    }
    return { stepMs: denoiseMs / stepUnits, restMs: restMs / imageUnits };
  }

  /** Expected engine time of a whole request (all its images). */
  workMs(work: Work): number {
    const { stepMs, restMs } = this.rates();
    return work.images * pixelScale(work) * (work.steps * stepMs + restMs);
  }

  /**
   * Whole seconds until the running request (`elapsedMs` into it) and the queued ones have
   * run, rounded up: at least 1 and at most `maxSeconds` (the request deadline: a client
   * retrying later than that finds every current request gone anyway).
   */
  waitSeconds(
    running: { work: Work; elapsedMs: number } | undefined,
    queued: readonly Work[],
    maxSeconds: number,
  ): number {
    const left = running ? Math.max(0, this.workMs(running.work) - running.elapsedMs) : 0;
    const ms = queued.reduce((sum, work) => sum + this.workMs(work), left);
    // Whole milliseconds first, so float noise (12000.000001 ms) never rounds up a second.
    return Math.max(1, Math.min(Math.ceil(Math.round(ms) / 1000), maxSeconds));
  }
}

function pixelScale(size: { width: number; height: number }): number {
  return (size.width * size.height) / referencePixels;
}
