/**
 * Arrival schedules of the open-loop load generator: when each request is sent, decided before
 * the run and never moved by how fast the server answers (a closed loop, which waits for an
 * answer before the next request, would slow down exactly when the server queues and hide it).
 *
 * Every rate schedule is one shape, a rate that moves linearly from `from` to `to` over the
 * duration (constant: from = to), read through its cumulative count
 * L(t) = from*t + (to - from)*t^2/(2D). Even arrivals are sent where L(t) crosses 0, 1, 2, ...;
 * Poisson arrivals where it crosses the sums of unit exponential gaps (time rescaling: a unit
 * Poisson process mapped through L^-1 is a Poisson process of that rate). E.g. a ramp from 1/s
 * to 3/s over 10 s carries L(10) = 10 + 10 = 20 requests, and the first half of them leave
 * before L^-1(10) = 20 / (1 + sqrt(5)) = 6.2 s, not before 5 s.
 * Pure: no clock, no I/O.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { z } from 'zod';
import { formatSize } from '../../src/contract/size.ts';
import { traceRowSchema } from '../../src/sim/trace-csv.ts';

/** One request of a schedule: when, and what a trace row asks for instead of the defaults. */
export interface Arrival {
  /** Ms after the run began. */
  atMs: number;
  size?: string | undefined;
  steps?: number | undefined;
  n?: number | undefined;
}

/** 1000 requests/s is far past any runtime (one GPU serves ~1 image/s) and bounds the arrays. */
const rate = z.number().positive().max(1_000);
const rateOrZero = z.number().min(0).max(1_000);
/** A day; the run's own cap (maxDurationSeconds) is usually far lower. */
const duration = z.number().positive().max(86_400);
const seed = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1);

export const scheduleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('constant'), rate, durationSeconds: duration }).strict(),
  z.object({ kind: z.literal('poisson'), rate, durationSeconds: duration, seed }).strict(),
  z
    .object({
      kind: z.literal('ramp'),
      fromRate: rateOrZero,
      toRate: rateOrZero,
      durationSeconds: duration,
      /** Set: Poisson arrivals along the ramp; unset: evenly spaced. */
      seed: seed.optional(),
    })
    .strict()
    .refine((r) => r.fromRate + r.toRate > 0, {
      path: ['toRate'],
      error: 'fromRate and toRate cannot both be 0',
    }),
  z
    .object({
      kind: z.literal('burst'),
      /** Requests sent at the same instant, every `everySeconds` from 0 on. */
      size: z.number().int().min(1).max(10_000),
      everySeconds: z.number().positive().max(86_400),
      durationSeconds: duration,
      /** Even arrivals between bursts, per second. Default 0. */
      baseRate: rateOrZero.optional(),
    })
    .strict(),
  z.object({ kind: z.literal('trace'), rows: z.array(traceRowSchema).min(1) }).strict(),
]);
export type ScheduleSpec = z.infer<typeof scheduleSchema>;

/** Seconds the schedule spans: its duration, or a trace's last offset. */
export function scheduleSeconds(spec: ScheduleSpec): number {
  return spec.kind === 'trace'
    ? Math.max(...spec.rows.map((r) => r.offsetSeconds))
    : spec.durationSeconds;
}

/** Thrown when a schedule has more arrivals than the run may send. */
export class TooManyArrivals extends Error {
  override name = 'TooManyArrivals';
}

/**
 * The arrivals of `spec`, in time order. More than `limit` throws TooManyArrivals (generation
 * stops there, so a mistyped rate of 1000/s over a day never builds 86 million entries).
 */
export function arrivals(spec: ScheduleSpec, limit: number): Arrival[] {
  const out: Arrival[] = [];
  const push = (a: Arrival) => {
    if (out.length >= limit) {
      throw new TooManyArrivals(`the schedule has more than ${limit} requests (the cap)`);
    }
    out.push(a);
  };
  switch (spec.kind) {
    case 'constant':
      rampArrivals(spec.rate, spec.rate, spec.durationSeconds, undefined, push);
      break;
    case 'poisson':
      rampArrivals(spec.rate, spec.rate, spec.durationSeconds, spec.seed, push);
      break;
    case 'ramp':
      rampArrivals(spec.fromRate, spec.toRate, spec.durationSeconds, spec.seed, push);
      break;
    case 'burst':
      burstArrivals(spec, push);
      break;
    case 'trace':
      for (const { offsetSeconds, size, ...row } of spec.rows) {
        const asked = size ? { size: formatSize(size) } : {};
        push({ atMs: offsetSeconds * 1000, ...asked, ...row });
      }
      break;
  }
  return out.sort((a, b) => a.atMs - b.atMs);
}

function rampArrivals(
  from: number,
  to: number,
  seconds: number,
  poissonSeed: number | undefined,
  push: (a: Arrival) => void,
): void {
  const a = (to - from) / (2 * seconds);
  const total = from * seconds + a * seconds * seconds;
  // L^-1(u) in the form without cancellation: 2u / (b + sqrt(b^2 + 4au)); = u/b when a = 0.
  const inverse = (u: number) =>
    u === 0 ? 0 : a === 0 ? u / from : (2 * u) / (from + Math.sqrt(from * from + 4 * a * u));
  const rng = poissonSeed === undefined ? undefined : xoroshiro128plus(poissonSeed);
  // 1 - U is in (0, 1], so the log is finite.
  const gap = () => (rng ? -Math.log(1 - uniformFloat64(rng)) : 1);
  for (let u = rng ? gap() : 0; u < total; u += gap()) push({ atMs: inverse(u) * 1000 });
}

function burstArrivals(
  spec: Extract<ScheduleSpec, { kind: 'burst' }>,
  push: (a: Arrival) => void,
): void {
  for (let t = 0; t < spec.durationSeconds; t += spec.everySeconds) {
    for (let i = 0; i < spec.size; i++) push({ atMs: t * 1000 });
  }
  const base = spec.baseRate ?? 0;
  if (base > 0) rampArrivals(base, base, spec.durationSeconds, undefined, push);
}
