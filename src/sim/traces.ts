/**
 * Synthetic traces, seeded: Poisson arrivals under a rate that changes over time (thinning:
 * draw at the peak rate, keep each arrival with probability rate(t) / peak). Rates are given
 * in "pods of load": 1 is what one pod of the deployment serves at full quality, so one trace
 * shape means the same stress on an H100 (~0.8 images/s per pod) and on the 16 GB 4090
 * profile (~0.07 images/s per pod with model offload).
 *
 * Request mix, our assumption for an image API: 70% 1024x1024, 20% 768x768, 10% 512x512;
 * 10% of requests ask for 2 images; none names its steps (the deployment's apply).
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { stageSeconds, type Card } from '../contract/card.ts';
import type { TraceRow } from './trace-csv.ts';
import type { QualitySettings } from '../operator/api/v1alpha1/status.ts';

const mix = [
  { p: 0.7, width: 1024, height: 1024 },
  { p: 0.2, width: 768, height: 768 },
  { p: 0.1, width: 512, height: 512 },
] as const;
const twoImages = 0.1;

/** Requests per second one pod serves at full quality, over the mix. */
export function podRequestRate(
  card: Card,
  q: QualitySettings,
  precision: 'bf16' | 'fp16',
  sizes: readonly { p: number; width: number; height: number }[] = mix,
  pairs = twoImages,
): number {
  const perImage = sizes.reduce(
    (s, m) => s + m.p * stageSeconds(card, { ...m, ...q, precision }).total,
    0,
  );
  return 1 / (perImage * (1 + pairs));
}

/** A rate curve: pods of load at second t. */
export type Shape = (t: number) => number;

export interface TraceSpec {
  seconds: number;
  shape: Shape;
  /** Requests per second per pod of load (podRequestRate). */
  perPod: number;
  seed: number;
  sizes?: readonly { p: number; width: number; height: number }[];
  /** Share of requests asking for 2 images (default 0.1). */
  pairs?: number;
}

export function generate(spec: TraceSpec): TraceRow[] {
  const rng = xoroshiro128plus(spec.seed);
  const sizes = spec.sizes ?? mix;
  let peak = 0;
  for (let t = 0; t <= spec.seconds; t += 1) peak = Math.max(peak, spec.shape(t));
  const top = peak * spec.perPod;
  const rows: TraceRow[] = [];
  if (top <= 0) return rows;
  for (let t = -Math.log(1 - uniformFloat64(rng)) / top; t < spec.seconds;) {
    const keep = uniformFloat64(rng) * peak < spec.shape(t);
    const [u, v] = [uniformFloat64(rng), uniformFloat64(rng)];
    if (keep) rows.push(request(t, u, v < (spec.pairs ?? twoImages), sizes));
    t += -Math.log(1 - uniformFloat64(rng)) / top;
  }
  return rows;
}

function request(
  t: number,
  u: number,
  pair: boolean,
  sizes: readonly { p: number; width: number; height: number }[],
): TraceRow {
  let acc = 0;
  const size = sizes.find((m) => (acc += m.p) >= u) ?? sizes[0]!;
  const offsetSeconds = Math.round(t * 1000) / 1000;
  return { offsetSeconds, size: { width: size.width, height: size.height }, n: pair ? 2 : 1 };
}

const minute = 60;
const within = (t: number, from: number, seconds: number) => t >= from && t < from + seconds;

/**
 * 60 min at 0.8 pods of load with bursts: 10x (8 pods) for 3 min at 10, 25 and 40 min, each
 * reaching maxReplicas' full capacity at 8 pods, and one 20x (16 pods, past what 8 GPUs serve
 * at full quality) for 2 min at 52 min.
 */
export const bursty: Shape = (t) => {
  const base = 0.8;
  if ([10, 25, 40].some((m) => within(t, m * minute, 3 * minute))) return base * 10;
  if (within(t, 52 * minute, 2 * minute)) return base * 20;
  return base;
};

/** A day in 2 h: 0.5 pods at night to 7 at the afternoon peak, a cosine between. */
export const dailyRamp: Shape = (t) => {
  const day = 2 * 60 * minute;
  return 0.5 + ((7 - 0.5) * (1 - Math.cos((2 * Math.PI * t) / day))) / 2;
};

/** 30 min of a steady 3 pods of load: any reversal here is the controller's own noise. */
export const constant: Shape = () => 3;

/**
 * The seed's scenario (the seed article, a Chinese blog post on serving Z-Image-Turbo): one request per image at 1024x1024 queued
 * per pod on a 16 GB card, with its three alert rules. 40 min: 1 pod of load for 10 min,
 * saturation at 3 pods for 15 min, a burst at 6 (past 4 GPUs) for 3 min, then near idle.
 */
export const seedScenario: Shape = (t) => {
  if (t < 10 * minute) return 1;
  if (t < 25 * minute) return 3;
  if (t < 28 * minute) return 6;
  return 0.3;
};

export const seedSizes = [{ p: 1, width: 1024, height: 1024 }] as const;

export const shapes = {
  bursty: { shape: bursty, seconds: 60 * minute },
  'daily-ramp': { shape: dailyRamp, seconds: 120 * minute },
  constant: { shape: constant, seconds: 30 * minute },
  seed: { shape: seedScenario, seconds: 40 * minute },
} as const;
export type ShapeName = keyof typeof shapes;

/** A named synthetic trace, scaled to what one pod of this card and quality serves. */
export function builtinTrace(
  name: ShapeName,
  card: Card,
  q: QualitySettings,
  precision: 'bf16' | 'fp16',
  seed: number,
): TraceRow[] {
  const { shape, seconds } = shapes[name];
  const seedLike = name === 'seed';
  const sizes = seedLike ? seedSizes : mix;
  const pairs = seedLike ? 0 : twoImages;
  const perPod = podRequestRate(card, q, precision, sizes, pairs);
  return generate({ seconds, shape, perPod, seed, sizes, pairs });
}
