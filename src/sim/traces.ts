/**
 * Synthetic traces, seeded: Poisson arrivals under a rate that changes over time (thinning:
 * draw at the peak rate, keep each arrival with probability rate(t) / peak). Rates are given
 * in "pods of load": 1 is what one pod of the deployment serves at full quality, so one trace
 * shape means the same stress on an H100 (~0.8 images/s per pod) and on the 16 GB 4090
 * profile (~0.07 images/s per pod with model offload).
 *
 * Request mix, our assumption for an image API: 70% 1024x1024, 20% 768x768, 10% 512x512;
 * 10% of requests ask for 2 images (multi-image: n from 1 to 8); none names its steps (the
 * deployment's apply).
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { stageSeconds, type Card } from '../contract/card.ts';
import { PackedTrace } from './packed-trace.ts';
import type { RowSink, TraceRow } from './trace-csv.ts';
import type { QualitySettings } from '../operator/api/v1alpha1/status.ts';

const mix = [
  { p: 0.7, width: 1024, height: 1024 },
  { p: 0.2, width: 768, height: 768 },
  { p: 0.1, width: 512, height: 512 },
] as const;

/** Images per request, as shares of requests: 10% ask for 2 (mean 1.1). */
const someTwos = [
  { p: 0.1, n: 2 },
  { p: 0.9, n: 1 },
] as const;

/**
 * Images per request on builtin:multi-image, our assumption: most calls ask for one; a UI that
 * shows a grid asks for 4 (2x2); a batch asks for the 8 an H100 makes in ~10 s; a few ask for
 * what lies between. Mean 2.21 images a request; 1 request in 5 asks for 4 or more. (The
 * runtime's and the router's ZIMAGE_MAX_IMAGES_PER_REQUEST must be 8 for it, set by
 * spec.runtime.maxImagesPerRequest: the default is 4.)
 */
export const multiImageCounts = [
  { p: 0.6, n: 1 },
  { p: 0.12, n: 2 },
  { p: 0.04, n: 3 },
  { p: 0.14, n: 4 },
  { p: 0.02, n: 5 },
  { p: 0.02, n: 6 },
  { p: 0.01, n: 7 },
  { p: 0.05, n: 8 },
] as const;

type Sizes = readonly { p: number; width: number; height: number }[];
type Counts = readonly { p: number; n: number }[];

/** Requests per second one pod serves at full quality, over the mix. */
export function podRequestRate(
  card: Card,
  q: QualitySettings,
  precision: 'bf16' | 'fp16',
  sizes: Sizes = mix,
  counts: Counts = someTwos,
): number {
  const perImage = sizes.reduce(
    (s, m) => s + m.p * stageSeconds(card, { ...m, ...q, precision }).total,
    0,
  );
  return 1 / (perImage * counts.reduce((s, c) => s + c.p * c.n, 0));
}

/**
 * A rate curve: pods of load at second t; for a builtin repeated past its length (--length),
 * t within its cycle and which cycle it is (daily-bursts draws each day's bursts from it).
 */
export type Shape = (t: number, cycle: number) => number;

export interface TraceSpec {
  seconds: number;
  shape: (t: number) => number;
  /** Requests per second per pod of load (podRequestRate). */
  perPod: number;
  seed: number;
  sizes?: Sizes;
  /** Images per request, as shares of requests (default: 10% ask for 2, the rest 1). */
  counts?: Counts;
}

export function generate(spec: TraceSpec): TraceRow[] {
  return generateInto(spec, []);
}

/** generate() into any sink: a PackedTrace holds a 23-day trace in ~80 MB. */
export function generateInto<S extends RowSink>(spec: TraceSpec, rows: S): S {
  const rng = xoroshiro128plus(spec.seed);
  const sizes = spec.sizes ?? mix;
  let peak = 0;
  for (let t = 0; t <= spec.seconds; t += 1) peak = Math.max(peak, spec.shape(t));
  const top = peak * spec.perPod;
  if (top <= 0) return rows;
  for (let t = -Math.log(1 - uniformFloat64(rng)) / top; t < spec.seconds;) {
    const keep = uniformFloat64(rng) * peak < spec.shape(t);
    const [u, v] = [uniformFloat64(rng), uniformFloat64(rng)];
    if (keep) rows.push(request(t, u, v, sizes, spec.counts ?? someTwos));
    t += -Math.log(1 - uniformFloat64(rng)) / top;
  }
  return rows;
}

function request(t: number, u: number, v: number, sizes: Sizes, counts: Counts): TraceRow {
  let acc = 0;
  const size = sizes.find((m) => (acc += m.p) >= u) ?? sizes[0]!;
  let below = 0;
  const n = (counts.find((c) => v < (below += c.p)) ?? counts.at(-1)!).n;
  const offsetSeconds = Math.round(t * 1000) / 1000;
  return { offsetSeconds, size: { width: size.width, height: size.height }, n };
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

/**
 * builtin:daily-bursts, a day compressed into 2 h (one hour in 5 min) with short bursts on
 * top, in pods of load. Our assumption for a consumer image API, not a measured trace: a trough
 * of 0.8 at 04:00 and a peak of 6 at 16:00 (of the 8 pods the defaults allow), following the
 * hourly levels below, straight lines between the hours' middles; 4 bursts a day (a post gone
 * viral, a batch job, a retry storm) of 1-3 min at +2 to +5 pods, at times drawn between 07:00
 * and 23:00. Bursts last real minutes, not compressed ones: what they test is a pod's 103 s
 * start. Each day's bursts come from the seed and the day, so a trace longer than a day
 * (--length) has other bursts each day.
 */
export const dailyLevels = [
  2.0, 1.4, 1.0, 0.85, 0.8, 0.9, 1.3, 2.0, 3.0, 3.8, 4.3, 4.6, 4.8, 5.0, 5.4, 5.8, 6.0, 5.8, 5.5,
  5.4, 5.2, 4.6, 3.6, 2.6,
] as const;

const dayHours = 24;
const hourSeconds = 5 * minute;
const daySeconds = dayHours * hourSeconds;
const bursts = { perDay: 4, seconds: [60, 180], pods: [2, 5], fromHour: 7, toHour: 23 } as const;

export interface Burst {
  /** Seconds into the day. */
  from: number;
  seconds: number;
  /** Pods of load on top of the day's level. */
  pods: number;
}

/** One day's bursts: a generator of its own (seed and day mixed), so day 9 is day 9 however drawn. */
export function burstsOn(seed: number, day: number): Burst[] {
  const rng = xoroshiro128plus(Math.imul(seed, 0x9e3779b1) ^ day);
  const draw = ([lo, hi]: readonly [number, number]) => lo + (hi - lo) * uniformFloat64(rng);
  return Array.from({ length: bursts.perDay }, () => ({
    from: draw([bursts.fromHour * hourSeconds, bursts.toHour * hourSeconds]),
    seconds: draw(bursts.seconds),
    pods: draw(bursts.pods),
  }));
}

/** The day's level at t: straight lines between the hours' middles, around midnight too. */
export function dailyLevel(t: number): number {
  const hour = t / hourSeconds - 0.5;
  const i = Math.floor(hour);
  const level = (h: number) => dailyLevels[((h % dayHours) + dayHours) % dayHours]!;
  return level(i) + (level(i + 1) - level(i)) * (hour - i);
}

export function dailyBursts(seed: number): Shape {
  let day = { cycle: -1, bursts: [] as Burst[] };
  return (t, cycle) => {
    if (day.cycle !== cycle) day = { cycle, bursts: burstsOn(seed, cycle) };
    let pods = dailyLevel(t);
    for (const b of day.bursts) if (within(t, b.from, b.seconds)) pods += b.pods;
    return pods;
  };
}

/** A builtin trace: its rate curve (from the seed) and length; the mixes if not the usual. */
interface Builtin {
  shape: (seed: number) => Shape;
  seconds: number;
  sizes?: Sizes;
  counts?: Counts;
}

export const shapes = {
  bursty: { shape: () => bursty, seconds: 60 * minute },
  'daily-ramp': { shape: () => dailyRamp, seconds: 120 * minute },
  constant: { shape: () => constant, seconds: 30 * minute },
  seed: {
    shape: () => seedScenario,
    seconds: 40 * minute,
    sizes: seedSizes,
    counts: [{ p: 1, n: 1 }],
  },
  /** bursty's load (in images: fewer, larger requests), each asking for 1 to 8 images. */
  'multi-image': { shape: () => bursty, seconds: 60 * minute, counts: multiImageCounts },
  'daily-bursts': { shape: dailyBursts, seconds: daySeconds },
} as const satisfies Record<string, Builtin>;
export type ShapeName = keyof typeof shapes;

/**
 * A named synthetic trace, scaled to what one pod of this card and quality serves: its own
 * length, or `seconds` of it, its cycle repeating (cycle by cycle for daily-bursts' days).
 */
export function builtinTrace(
  name: ShapeName,
  card: Card,
  q: QualitySettings,
  precision: 'bf16' | 'fp16',
  seed: number,
  seconds?: number,
): PackedTrace {
  const b: Builtin = shapes[name];
  const { sizes = mix, counts = someTwos } = b;
  const perPod = podRequestRate(card, q, precision, sizes, counts);
  const curve = b.shape(seed);
  const shape = (t: number) => curve(t % b.seconds, Math.floor(t / b.seconds));
  const spec = { seconds: seconds ?? b.seconds, shape, perPod, seed, sizes, counts };
  return generateInto(spec, new PackedTrace());
}
