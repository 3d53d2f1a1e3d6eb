/**
 * What the router's live-fleet benchmark reports (bench/router-fleet.ts): late images counted
 * per image, refusals apart, and the trace it replays scaled to the load it names.
 */
import { describe, expect, it } from 'vitest';
import { armResult, fleetTrace, fleetWorkload } from '../../bench/router-fleet.ts';
import type { LoadRecord } from '../../dev/load/summary.ts';

const record = (r: Partial<LoadRecord> & Pick<LoadRecord, 'status'>): LoadRecord => ({
  seq: 0,
  scheduledS: 0,
  startS: 0,
  latencyS: null,
  pod: null,
  ...r,
});

describe("one arm's measures", () => {
  it('counts n late images for a request of n answered past 15 s, and refusals apart', () => {
    const result = armResult([
      record({ status: 200, n: 8, latencyS: 16 }),
      record({ status: 200, n: 1, latencyS: 15 }),
      record({ status: 200, n: 3, latencyS: 2 }),
      record({ status: 429, n: 4, latencyS: 0.01, code: 'queue_full' }),
      record({ status: 429, n: 2, latencyS: 0.01, code: 'would_miss_deadline' }),
      record({ status: 503, n: 2, latencyS: 1 }),
      record({ status: 0, n: 1, error: 'no answer within 240 s' }),
    ]);
    expect(result).toMatchObject({
      requests: 7,
      images: 21,
      served: 12,
      late: 8,
      refused: 6,
      refusedByCode: { queue_full: 4, would_miss_deadline: 2 },
      failed: 3,
      failedBy: { '503': 2, 'no answer within 240 s': 1 },
    });
    // Waits per image: 3 x 2 s, 1 x 15 s, 8 x 16 s (nearest rank).
    expect([result.p50, result.p95, result.p99]).toEqual([16, 16, 16]);
    expect(
      armResult([
        record({ status: 200, n: 3, latencyS: 2 }),
        record({ status: 200, latencyS: 30 }),
      ]),
    ).toMatchObject({ late: 1, p50: 2, p95: 30, p99: 30 });
  });
});

describe('the trace', () => {
  it.each([1, 2])('seed %i: its images are the load asked for, over its span', (seed) => {
    const rows = fleetTrace({ pods: 3, load: 0.85, seconds: 200, seed });
    const images = rows.reduce((s, r) => s + (r.n ?? 1), 0);
    const span = rows.at(-1)!.offsetSeconds;
    expect(rows[0]!.offsetSeconds).toBe(0);
    expect((images * fleetWorkload.perImageSeconds) / (3 * span)).toBeCloseTo(0.85, 2);
    const ns = rows.map((r) => r.n ?? 1);
    expect(ns.every((n) => n >= 1 && n <= 8) && ns.includes(1) && ns.includes(8)).toBe(true);
    expect(rows.every((r) => r.steps === 50 && r.size?.width === 256)).toBe(true);
    expect(rows.map((r) => r.offsetSeconds)).toEqual(
      [...rows.map((r) => r.offsetSeconds)].sort((a, b) => a - b),
    );
  });
});
