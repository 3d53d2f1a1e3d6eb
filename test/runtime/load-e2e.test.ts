/**
 * The load generator against the real runtime (tiny model, CPU EP), paced as the 24 GB RTX 4090
 * so that capacity is known: 64x64 at 9 steps is 0.79 s per image, ~1.2 images/s. At 5/s, four
 * times that, the runtime's queue (2 slots) fills and it refuses with 429, while the generator
 * keeps sending on schedule: the open loop that shows queueing instead of hiding it.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad, type LoadRecord } from '../../dev/load/index.ts';
import { startRuntime, type RuntimeProcess } from '../../dev/runtime-process.ts';
import { scrape } from '../support/runtime-e2e.ts';

let rt: RuntimeProcess;
beforeAll(async () => {
  rt = await startRuntime({
    env: {
      ZIMAGE_GPU_CARD: 'rtx4090-24gb',
      ZIMAGE_PACING: 'true',
      ZIMAGE_MAX_QUEUE: '2',
      ZIMAGE_POD_NAME: 'turbo-7d9f8-x2x4q',
    },
  });
});
afterAll(async () => {
  await rt?.stop();
});

describe('open-loop load above capacity', () => {
  it('keeps the schedule while the queue fills and 429s come back', async () => {
    const recordPath = path.join(mkdtempSync(path.join(os.tmpdir(), 'zimage-load-')), 'run.ndjson');
    const summary = await runLoad({
      target: rt.url,
      schedule: { kind: 'constant', rate: 5, durationSeconds: 3 },
      request: { size: '64x64', steps: 9, seed: 1 },
      recordPath,
      maxDurationSeconds: 60,
    });
    const records = readFileSync(recordPath, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as LoadRecord)
      .sort((a, b) => a.seq - b.seq);
    const report = JSON.stringify(summary);

    // Every request left on its own schedule, 200 ms apart, answered or not.
    expect(records.map((r) => r.scheduledS)).toEqual(
      Array.from({ length: 15 }, (_, i) => Number((i * 0.2).toFixed(1))),
    );
    for (const r of records) expect(r.startS - r.scheduledS, report).toBeLessThan(0.25);
    // Nearly every request left while an earlier one was still waiting for its image; a closed
    // loop would have waited for that answer first.
    const answeredAt = (r: LoadRecord) => r.startS + (r.latencyS ?? Infinity);
    const overlapping = records.filter((r) =>
      records.some((q) => q.seq < r.seq && answeredAt(q) > r.startS),
    );
    expect(overlapping.length, report).toBeGreaterThanOrEqual(12);
    // The last left at 2.8 s, when at most three images (0.79 s each) could have been served.
    const last = records.at(-1)!;
    const servedBefore = records.filter((r) => r.status === 200 && answeredAt(r) < last.startS);
    expect(servedBefore.length, report).toBeLessThanOrEqual(3);

    // The queue filled: refusals came back at once, with the runtime's code.
    const refused = records.filter((r) => r.status === 429);
    const served = records.filter((r) => r.status === 200);
    expect(refused.length, report).toBeGreaterThanOrEqual(5);
    expect(refused.every((r) => r.code === 'queue_full' && (r.latencyS ?? 1) < 0.5)).toBe(true);
    expect(served.length + refused.length, report).toBe(15);
    // Served ones waited behind others: up to two images (~1.6 s) in the queue.
    expect(Math.max(...served.map((r) => r.queueMs ?? 0)), report).toBeGreaterThan(1_000);
    expect(records.every((r) => r.pod === 'turbo-7d9f8-x2x4q')).toBe(true);

    // The summary agrees with the records and with the runtime's own count.
    expect(summary).toMatchObject({
      requests: 15,
      answered: 15,
      statuses: { '200': served.length, '429': refused.length },
      offeredRate: 5,
    });
    // Capacity: one image at a time, ~0.8 s each, busy from the first request to the last answer.
    expect(summary.throughput, report).toBeGreaterThan(0.9);
    expect(summary.throughput, report).toBeLessThan(1.4);
    expect(summary.maxInFlight, report).toBeGreaterThanOrEqual(3);
    expect(summary.underBound).toBeCloseTo(served.length / 15, 9);
    expect(summary.latencySeconds?.p50, report).toBeGreaterThan(0.79);
    const m = await scrape(rt);
    expect(m.byLabel('zimage_requests_total', 'code')).toEqual({
      '200': served.length,
      '429': refused.length,
    });
  });
});
