/**
 * builtin:daily-bursts (src/sim/traces.ts): the day's levels at the hours worked out by hand,
 * its bursts where and as large as it says, and the requests a day adds up to.
 */
import { describe, expect, it } from 'vitest';
import { cards } from '../../src/contract/card.ts';
import type { QualitySettings } from '../../src/operator/api/v1alpha1/status.ts';
import {
  builtinTrace,
  burstsOn,
  dailyBursts,
  dailyLevel,
  dailyLevels,
  podRequestRate,
} from '../../src/sim/traces.ts';

/** One hour of the day is 5 min. */
const hour = 300;
const h100 = cards['h100-80gb'];
const full: QualitySettings = { steps: 9, offload: 'none', attention: 'flash' };

describe('daily-bursts: the day', () => {
  it.each([
    // The middle of 04:00: the trough, 0.8 pods of load.
    { at: 4.5 * hour, want: 0.8 },
    // The middle of 16:00: the peak, 6.
    { at: 16.5 * hour, want: 6 },
    // 16:00 sharp, halfway between the middles of 15:00 (5.8) and 16:00 (6.0): 5.9.
    { at: 16 * hour, want: 5.9 },
    // Midnight, halfway between 23:00 (2.6) and 00:00 (2.0): 2.3.
    { at: 0, want: 2.3 },
  ])('at $at s: $want pods of load', ({ at, want }) => {
    expect(dailyLevel(at)).toBeCloseTo(want, 9);
  });

  it('has 24 hourly levels, the trough a seventh of the peak', () => {
    expect([dailyLevels.length, Math.min(...dailyLevels), Math.max(...dailyLevels)]).toEqual([
      24, 0.8, 6,
    ]);
  });
});

describe('daily-bursts: the bursts', () => {
  const day0 = burstsOn(1, 0);

  it('draws 4 a day between 07:00 and 23:00, of 60-180 s, at +2 to +5 pods', () => {
    expect(day0).toHaveLength(4);
    for (const b of day0) {
      expect(b.from).toBeGreaterThanOrEqual(7 * hour);
      expect(b.from).toBeLessThan(23 * hour);
      expect([b.seconds >= 60 && b.seconds < 180, b.pods >= 2 && b.pods < 5]).toEqual([true, true]);
    }
  });

  it('draws the same for a seed and day, others for another day or seed', () => {
    expect(burstsOn(1, 0)).toEqual(day0);
    expect(burstsOn(1, 1)).not.toEqual(day0);
    expect(burstsOn(2, 0)).not.toEqual(day0);
  });

  it('puts each burst on top of the day', () => {
    const shape = dailyBursts(1);
    const b = day0[0]!;
    const mid = b.from + b.seconds / 2;
    expect(shape(mid, 0) - dailyLevel(mid)).toBeGreaterThanOrEqual(b.pods);
    // Before 07:00 no burst: the level alone.
    expect(shape(3 * hour, 0)).toBe(dailyLevel(3 * hour));
  });
});

describe('builtin:daily-bursts', () => {
  const perPod = podRequestRate(h100, full, 'bf16');
  /** Requests a day should bring: (mean level + the bursts' pod-seconds / day) x rate x day. */
  const expected = (seed: number, day: number) => {
    const burstPodSeconds = burstsOn(seed, day).reduce((s, b) => s + b.seconds * b.pods, 0);
    const meanLevel = dailyLevels.reduce((a, b) => a + b, 0) / 24;
    return (meanLevel + burstPodSeconds / (24 * hour)) * perPod * 24 * hour;
  };

  it('one day: the requests its curve and bursts add up to, within 3%', () => {
    // ~22000 Poisson arrivals: one standard deviation is 0.7%.
    const rows = builtinTrace('daily-bursts', h100, full, 'bf16', 1);
    expect(Math.abs(rows.length / expected(1, 0) - 1)).toBeLessThan(0.03);
    expect(rows.at(-1)!.offsetSeconds).toBeLessThan(24 * hour);
  });

  it('--length 3 days: three days, each with its own bursts', () => {
    const rows = builtinTrace('daily-bursts', h100, full, 'bf16', 1, 3 * 24 * hour);
    const want = expected(1, 0) + expected(1, 1) + expected(1, 2);
    expect(Math.abs(rows.length / want - 1)).toBeLessThan(0.03);
    expect(rows.at(-1)!.offsetSeconds).toBeGreaterThan(3 * 24 * hour - 60);
  });
});
