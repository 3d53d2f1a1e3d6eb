/**
 * What a run measured: per request its fate and latency, GPU time, passes, and the actions a
 * controller took (with reversals: a knob moved against its previous move).
 */
import type { QualitySettings } from '../operator/api/v1alpha1/status.ts';
import { attentionBackends, offloadModes } from '../contract/runtime.ts';

export type Fate = 'ok' | 'rejected' | 'unavailable' | 'timeout' | 'refused';

export interface Results {
  /** Images requested (the sum of n). */
  images: number;
  /** Images whose response came within the SLO of the first attempt. */
  withinSlo: number;
  /**
   * Latency of every served image (its request's), seconds; emptied at the end of a run
   * unless kept (RunOptions.keepLatencies): 7M images of a 23-day trace are ~60 MB a run.
   */
  latencies: number[];
  /** p95 of `latencies`, set at the end of the run; undefined when none was served. */
  p95: number | undefined;
  /** Images lost, by why: 429 after retries, no Ready pod, deadline, did not fit. */
  lost: Record<Exclude<Fate, 'ok'>, number>;
  /** Transformer passes of every served image, summed. */
  passes: number;
  served: number;
  gpuSeconds: number;
  actions: number;
  reversals: number;
  /** Seconds the trace ran (first to last arrival, plus the drain). */
  seconds: number;
}

export function emptyResults(): Results {
  return {
    images: 0,
    withinSlo: 0,
    latencies: [],
    p95: undefined,
    lost: { rejected: 0, unavailable: 0, timeout: 0, refused: 0 },
    passes: 0,
    served: 0,
    gpuSeconds: 0,
    actions: 0,
    reversals: 0,
    seconds: 0,
  };
}

/** `images` of one request answered `latency` seconds after its first attempt. */
export function recordServed(
  results: Results,
  latency: number,
  images: number,
  passes: number,
  sloSeconds: number,
): void {
  results.served += images;
  results.passes += passes;
  for (let i = 0; i < images; i++) results.latencies.push(latency);
  if (latency <= sloSeconds) results.withinSlo += images;
}

/** The nearest-rank quantile. A typed array sorts numerically without a comparator: 6M values in ~0.5 s, not ~5 s. */
export function quantile(values: ArrayLike<number>, q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

type Direction = 1 | -1;

/**
 * Counts actions and reversals over the knobs a controller moves. A reversal is a move against
 * the knob's previous move: 2 -> 3 -> 2 is one, 9 -> 8 -> 7 -> 8 is one.
 */
export class ActionCounter {
  private readonly last = new Map<string, Direction>();
  private readonly results: Results;
  constructor(results: Results) {
    this.results = results;
  }

  replicas(from: number, to: number): void {
    if (from !== to) this.move('replicas', to > from ? 1 : -1);
  }

  quality(from: QualitySettings, to: QualitySettings): void {
    if (from.steps !== to.steps) this.move('steps', to.steps > from.steps ? 1 : -1);
    const rank = (m: QualitySettings['offload']) => offloadModes.indexOf(m);
    if (from.offload !== to.offload)
      this.move('offload', rank(to.offload) > rank(from.offload) ? 1 : -1);
    const kernel = (a: QualitySettings['attention']) => attentionBackends.indexOf(a);
    if (from.attention !== to.attention)
      this.move('attention', kernel(to.attention) > kernel(from.attention) ? 1 : -1);
  }

  private move(knob: string, direction: Direction): void {
    this.results.actions += 1;
    const previous = this.last.get(knob);
    if (previous !== undefined && previous !== direction) this.results.reversals += 1;
    this.last.set(knob, direction);
  }
}
