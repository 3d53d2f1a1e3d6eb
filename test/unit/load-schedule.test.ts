import { describe, expect, it } from 'vitest';
import {
  arrivals,
  scheduleSchema,
  TooManyArrivals,
  type ScheduleSpec,
} from '../../dev/load/schedule.ts';
import { parseTrace } from '../../src/sim/trace-csv.ts';

const times = (spec: ScheduleSpec, limit = 100_000) => arrivals(spec, limit).map((a) => a.atMs);

/** Arrivals per 1 s window over [0, seconds). */
function counts(ms: number[], seconds: number): number[] {
  const out = Array.from({ length: seconds }, () => 0);
  for (const t of ms) out[Math.floor(t / 1000)]! += 1;
  return out;
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: number[]) => {
  const m = mean(xs);
  return mean(xs.map((x) => (x - m) ** 2));
};

describe('arrival schedules', () => {
  it('constant: evenly spaced from 0, none at the duration itself', () => {
    expect(times({ kind: 'constant', rate: 4, durationSeconds: 2 })).toEqual([
      0, 250, 500, 750, 1000, 1250, 1500, 1750,
    ]);
    // 0.5/s over 3 s: at 0 and 2 s only.
    expect(times({ kind: 'constant', rate: 0.5, durationSeconds: 3 })).toEqual([0, 2000]);
  });

  it('poisson, seeded: the same seed gives the same arrivals, another seed others', () => {
    const spec = { kind: 'poisson', rate: 5, durationSeconds: 60, seed: 7 } as const;
    expect(times(spec)).toEqual(times(spec));
    expect(times({ ...spec, seed: 8 })).not.toEqual(times(spec));
  });

  it('poisson: counts per second have mean and variance equal to the rate', () => {
    // 5/s over 2000 s: 10000 arrivals. For a Poisson process the count in a window has
    // variance = mean (dispersion 1); evenly spaced arrivals would have variance 0.
    const ms = times({ kind: 'poisson', rate: 5, durationSeconds: 2_000, seed: 42 });
    const perSecond = counts(ms, 2_000);
    expect(mean(perSecond)).toBeGreaterThan(4.85);
    expect(mean(perSecond)).toBeLessThan(5.15);
    expect(variance(perSecond) / mean(perSecond)).toBeGreaterThan(0.9);
    expect(variance(perSecond) / mean(perSecond)).toBeLessThan(1.1);
    // Exponential gaps: mean 200 ms and a coefficient of variation of 1.
    const gaps = ms.slice(1).map((t, i) => t - ms[i]!);
    expect(mean(gaps)).toBeGreaterThan(194);
    expect(mean(gaps)).toBeLessThan(206);
    expect(Math.sqrt(variance(gaps)) / mean(gaps)).toBeGreaterThan(0.95);
    expect(Math.sqrt(variance(gaps)) / mean(gaps)).toBeLessThan(1.05);
    expect(Math.max(...ms)).toBeLessThan(2_000_000);
  });

  it('ramp: the rate moves linearly; 1/s to 3/s over 10 s carries 20 requests', () => {
    const ms = times({ kind: 'ramp', fromRate: 1, toRate: 3, durationSeconds: 10 });
    expect(ms).toHaveLength(20);
    // L(5) = 5 + 0.1 x 25 = 7.5: eight leave in the first half (u = 0..7), twelve in the second.
    expect(ms.filter((t) => t < 5_000)).toHaveLength(8);
    // The 11th (u = 10) at L^-1(10) = 20 / (1 + sqrt(5)).
    expect(ms[10]).toBeCloseTo((20 / (1 + Math.sqrt(5))) * 1000, 6);
    // Gaps shrink from 1 s towards 1/3 s.
    expect(ms[1]! - ms[0]!).toBeCloseTo(1000 * (2 / (1 + Math.sqrt(1.4))), 6);
    expect(ms[19]! - ms[18]!).toBeLessThan(350);
  });

  it('ramp down, and ramps with Poisson arrivals along them', () => {
    const down = times({ kind: 'ramp', fromRate: 3, toRate: 1, durationSeconds: 10 });
    expect(down).toHaveLength(20);
    expect(down.filter((t) => t < 5_000)).toHaveLength(13);
    // 1/s to 3/s over 1000 s: L(500) = 500 + 0.001 x 250000 = 750 of 2000 in the first half.
    const up = times({ kind: 'ramp', fromRate: 1, toRate: 3, durationSeconds: 1_000, seed: 3 });
    expect(up.length).toBeGreaterThan(1_900);
    expect(up.length).toBeLessThan(2_100);
    const firstHalf = up.filter((t) => t < 500_000).length / up.length;
    expect(firstHalf).toBeGreaterThan(0.35);
    expect(firstHalf).toBeLessThan(0.4);
  });

  it('burst: N at once every period, with an optional even base rate between', () => {
    expect(times({ kind: 'burst', size: 3, everySeconds: 2, durationSeconds: 5 })).toEqual([
      0, 0, 0, 2000, 2000, 2000, 4000, 4000, 4000,
    ]);
    const withBase = times({
      kind: 'burst',
      size: 2,
      everySeconds: 2,
      durationSeconds: 4,
      baseRate: 1,
    });
    expect(withBase).toEqual([0, 0, 0, 1000, 2000, 2000, 2000, 3000]);
  });

  it('trace: rows as written, with their own size, steps and n', () => {
    const rows = parseTrace('offset_seconds,size,steps,n\n0,512x512,4,1\n1.5,,,2\n');
    expect(arrivals({ kind: 'trace', rows }, 10)).toEqual([
      { atMs: 0, size: '512x512', steps: 4, n: 1 },
      { atMs: 1500, n: 2 },
    ]);
  });

  it('stops generating past the cap instead of building a huge schedule', () => {
    // 1000/s for a day would be 86.4 million arrivals.
    expect(() =>
      arrivals({ kind: 'constant', rate: 1_000, durationSeconds: 86_400 }, 1_000),
    ).toThrow(TooManyArrivals);
    expect(arrivals({ kind: 'constant', rate: 10, durationSeconds: 100 }, 1_000)).toHaveLength(
      1_000,
    );
  });

  it.each([
    ['a rate of 0', { kind: 'constant', rate: 0, durationSeconds: 1 }, 'rate'],
    ['no duration', { kind: 'poisson', rate: 1, seed: 1 }, 'durationSeconds'],
    ['a ramp from 0 to 0', { kind: 'ramp', fromRate: 0, toRate: 0, durationSeconds: 1 }, 'toRate'],
    ['a burst of 0', { kind: 'burst', size: 0, everySeconds: 1, durationSeconds: 1 }, 'size'],
    ['a fractional seed', { kind: 'poisson', rate: 1, durationSeconds: 1, seed: 1.5 }, 'seed'],
    ['an unknown kind', { kind: 'sine', rate: 1 }, 'kind'],
  ])('refuses %s, naming the field', (_name, spec, field) => {
    const result = scheduleSchema.safeParse(spec);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toContain(field);
  });
});
