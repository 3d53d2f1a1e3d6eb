/**
 * Pacing, for the local fleet only (ZIMAGE_PACING, off by default, never set by the operator or
 * deploy/): each stage of a generation (text encoder, every transformer step, VAE decoder) is
 * held until the card model's time for the real Z-Image on the modelled card has passed since
 * the stage began. The tiny model then stands in for a GPU: E.g. 64x64 at 9 steps on
 * rtx4090-24gb is 64 ms of text encoder + 9 x 103 ms of steps + 2 ms of VAE = 1.0 s per image,
 * whatever the CPU did in that time, so two pods serve twice the images of one, as two GPUs
 * would, while the CPU stays mostly idle.
 *
 * A hold sleeps on a timer of the worker's event loop (nothing else runs in this thread
 * meanwhile: jobs are served one at a time) rather than spinning, so ten paced pods cost the
 * machine what ten tiny models cost. A stage whose real compute already took longer than the
 * modelled time is not held at all: pacing only ever adds time, never removes it.
 */
import { stageSeconds, type Card, type Workload } from '../../contract/card.ts';
import { sleep, systemClock, type Clock } from '../../contract/clock.ts';

/** Holds the stages of one generation; `since` values come from the pacer's `now`. */
export interface StagePace {
  /** The modelled stage times of this generation, in ms. */
  readonly modelledMs: { textEncoder: number; transformerStep: number; vae: number };
  textEncoder(since: number): Promise<void>;
  /** Step `index` (0-based); step 0 also carries the transformer's upload under offload model. */
  transformerStep(since: number, index: number): Promise<void>;
  vae(since: number): Promise<void>;
}

export class Pacer {
  readonly card: Card;
  private readonly clock: Clock;
  private readonly now: () => number;

  /** `now` must tick with `clock` (tests pass a fake clock and its now). */
  constructor(card: Card, clock: Clock = systemClock, now: () => number = () => performance.now()) {
    this.card = card;
    this.clock = clock;
    this.now = now;
  }

  /** Stage holds for one generation of `w` on this card. */
  begin(w: Workload): StagePace {
    const s = stageSeconds(this.card, w);
    const modelledMs = {
      textEncoder: s.textEncoder * 1000,
      transformerStep: s.transformerStep * 1000,
      vae: s.vae * 1000,
    };
    const loadMs = s.transformerLoad * 1000;
    return {
      modelledMs,
      textEncoder: (since) => this.holdUntil(since + modelledMs.textEncoder),
      transformerStep: (since, index) =>
        this.holdUntil(since + modelledMs.transformerStep + (index === 0 ? loadMs : 0)),
      vae: (since) => this.holdUntil(since + modelledMs.vae),
    };
  }

  private async holdUntil(end: number): Promise<void> {
    // A loop, not one sleep: Node's timers run on libuv's loop time (whole ms, cached per loop
    // turn), so a 48.4 ms timer can fire when performance.now() has moved 47.2 ms (seen in CI).
    for (let remaining = end - this.now(); remaining > 0; remaining = end - this.now()) {
      await sleep(this.clock, remaining);
    }
  }
}
