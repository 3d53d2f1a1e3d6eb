/**
 * The load generator's runner on a fake clock, with a fake HTTP client at the boundary: that
 * arrivals keep their schedule while nothing is answered is the open loop itself. The real
 * runtime behind it: test/runtime/load-e2e.test.ts.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LoadOptionsError, type LoadOptions } from '../../dev/load/options.ts';
import { defaultPrompt, runLoad } from '../../dev/load/run.ts';
import { percentile, type LoadRecord } from '../../dev/load/summary.ts';
import { loopbackTarget, TargetError } from '../../dev/load/target.ts';
import { FakeClock, settle } from '../support/fake-clock.ts';

/** A server that answers only when told: each call waits for answer(i, status). */
function heldServer(clock: FakeClock) {
  const calls: { atMs: number; body: Record<string, unknown>; answer: (status: number) => void }[] =
    [];
  const fake = ((_url: URL, init: RequestInit) =>
    new Promise<Response>((resolve, reject) => {
      init.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error));
      calls.push({
        atMs: clock.now(),
        body: JSON.parse(init.body as string) as Record<string, unknown>,
        answer: (status) =>
          resolve(
            new Response(
              JSON.stringify(
                status === 200
                  ? { timings: { queue_ms: 5, generation_ms: 800 } }
                  : { error: { code: 'queue_full' } },
              ),
              { status, headers: { 'x-zimage-pod': 'turbo-0' } },
            ),
          ),
      });
    })) as typeof globalThis.fetch;
  return { calls, fetch: fake };
}

const base = (clock: FakeClock, fetch: typeof globalThis.fetch): Omit<LoadOptions, 'schedule'> => ({
  target: 'http://127.0.0.1:9',
  clock,
  fetch,
  progressIntervalMs: 100,
});

describe('the open-loop runner', () => {
  it('sends on schedule while nothing is answered, then summarises what came back', async () => {
    const clock = new FakeClock(1_000_000);
    const server = heldServer(clock);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'zimage-load-'));
    const recordPath = path.join(dir, 'run.ndjson');
    const progress: number[] = [];
    const done = runLoad({
      ...base(clock, server.fetch),
      schedule: { kind: 'constant', rate: 10, durationSeconds: 1 },
      request: { size: '256x256', steps: 4, seed: 7 },
      recordPath,
      onProgress: (p) => progress.push(p.inFlight),
    });
    await clock.advance(950);
    // Ten requests out, 100 ms apart, none answered: a closed loop would have sent one.
    expect(server.calls.map((c) => c.atMs - 1_000_000)).toEqual([
      0, 100, 200, 300, 400, 500, 600, 700, 800, 900,
    ]);
    expect(server.calls[3]?.body).toEqual({
      prompt: defaultPrompt,
      size: '256x256',
      steps: 4,
      seed: 10,
    });
    expect(Math.max(...progress)).toBe(9);

    // Two answers at 1.5 s, the rest refused at 2 s.
    await clock.advance(550);
    server.calls.slice(0, 2).forEach((c) => c.answer(200));
    await clock.advance(500);
    server.calls.slice(2).forEach((c) => c.answer(429));
    const summary = await done;
    expect(summary).toMatchObject({
      requests: 10,
      answered: 10,
      statuses: { '200': 2, '429': 8 },
      offeredRate: 10,
      maxInFlight: 10,
      maxLagMs: 0,
      durationSeconds: 2,
      throughput: 1,
      latencySeconds: { p50: 1.4, p95: 1.5, max: 1.5 },
      underBound: 0.2,
    });
    expect(summary.stopped).toBeUndefined();

    const lines = readFileSync(recordPath, 'utf8').trim().split('\n');
    const records = lines.map((l) => JSON.parse(l) as LoadRecord);
    expect(records).toHaveLength(10);
    expect(records.find((r) => r.seq === 1)).toEqual({
      seq: 1,
      scheduledS: 0.1,
      startS: 0.1,
      size: '256x256',
      steps: 4,
      latencyS: 1.4,
      status: 200,
      pod: 'turbo-0',
      queueMs: 5,
      generationMs: 800,
    });
    expect(records.find((r) => r.seq === 9)).toMatchObject({ status: 429, code: 'queue_full' });
  });

  it('skips arrivals past maxInFlight instead of delaying them (delay would close the loop)', async () => {
    const clock = new FakeClock();
    const server = heldServer(clock);
    const done = runLoad({
      ...base(clock, server.fetch),
      schedule: { kind: 'burst', size: 5, everySeconds: 10, durationSeconds: 1 },
      maxInFlight: 3,
    });
    await clock.advance(0);
    expect(server.calls).toHaveLength(3);
    server.calls.forEach((c) => c.answer(200));
    const summary = await done;
    expect(summary.statuses).toEqual({ '200': 3, skipped: 2 });
    expect(summary.maxInFlight).toBe(3);
  });

  it('ends at the duration cap, recording what was still outstanding', async () => {
    const clock = new FakeClock();
    const server = heldServer(clock);
    const records: LoadRecord[] = [];
    const done = runLoad({
      ...base(clock, server.fetch),
      schedule: { kind: 'constant', rate: 2, durationSeconds: 2 },
      maxDurationSeconds: 3,
      onRecord: (r) => records.push(r),
    });
    await clock.advance(2_999);
    expect(server.calls).toHaveLength(4);
    expect(records).toHaveLength(0);
    await clock.advance(1);
    const summary = await done;
    expect(summary.stopped).toBe('the duration cap (3 s)');
    expect(summary.statuses).toEqual({ error: 4 });
    expect(records.map((r) => r.error)).toEqual(
      Array.from({ length: 4 }, () => 'stopped: the duration cap (3 s)'),
    );
  });

  it('stops sending when its signal aborts (Ctrl-C)', async () => {
    const clock = new FakeClock();
    const server = heldServer(clock);
    const stop = new AbortController();
    const done = runLoad({
      ...base(clock, server.fetch),
      schedule: { kind: 'constant', rate: 1, durationSeconds: 100 },
      signal: stop.signal,
    });
    await clock.advance(2_500);
    stop.abort();
    await settle();
    const summary = await done;
    expect(server.calls).toHaveLength(3);
    expect(summary).toMatchObject({ requests: 3, stopped: 'aborted', statuses: { error: 3 } });
  });

  it.each([
    [
      'a bad rate',
      { schedule: { kind: 'constant', rate: -1, durationSeconds: 1 } },
      'schedule.rate',
    ],
    [
      'a schedule longer than the run may last',
      { schedule: { kind: 'constant', rate: 1, durationSeconds: 700 } },
      'maxDurationSeconds',
    ],
    [
      'more requests than the cap',
      { schedule: { kind: 'constant', rate: 100, durationSeconds: 20 }, maxRequests: 1_000 },
      'maxRequests',
    ],
    [
      'a cap past the hard cap',
      { schedule: { kind: 'constant', rate: 1, durationSeconds: 1 }, maxDurationSeconds: 7_200 },
      'maxDurationSeconds',
    ],
  ] as const)('refuses %s before sending anything, naming the option', async (_n, extra, where) => {
    const clock = new FakeClock();
    const server = heldServer(clock);
    const error = await runLoad({ ...base(clock, server.fetch), ...extra }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LoadOptionsError);
    expect((error as LoadOptionsError).issues.map((i) => i.path)).toContain(where);
    expect(server.calls).toHaveLength(0);
  });
});

describe('loopback only', () => {
  it.each([
    ['http://127.0.0.1:8080', '127.0.0.1'],
    ['http://127.44.0.3:8080', '127.44.0.3'],
    ['http://127.1:8080', '127.0.0.1'],
    ['http://localhost:8080', 'localhost'],
    ['http://[::1]:8080', '[::1]'],
  ])('sends to %s', (target, host) => {
    expect(loopbackTarget(target).hostname).toBe(host);
  });

  it.each([
    [
      'http://10.0.0.5:8080',
      /sends only to loopback \(127\.0\.0\.0\/8, ::1 or localhost\), not to 10\.0\.0\.5$/,
    ],
    ['http://example.com', /not to example\.com$/],
    ['http://128.0.0.1', /not to 128\.0\.0\.1$/],
    ['http://[::ffff:127.0.0.1]', /not to ::ffff:7f00:1$/],
    ['ftp://127.0.0.1', /only http:\/\/ and https:\/\//],
    ['127.0.0.1:8080', /not a URL \(e\.g\. http:\/\/127\.0\.0\.1:8080\)/],
    ['not a url', /not a URL/],
  ])('refuses %s', (target, message) => {
    expect(() => loopbackTarget(target)).toThrow(TargetError);
    expect(() => loopbackTarget(target)).toThrow(message);
  });

  it('refuses before any request is sent', async () => {
    const clock = new FakeClock();
    const server = heldServer(clock);
    const run = runLoad({
      ...base(clock, server.fetch),
      target: 'http://192.168.1.20:8080',
      schedule: { kind: 'constant', rate: 1, durationSeconds: 1 },
    });
    await expect(run).rejects.toThrow(TargetError);
    expect(server.calls).toHaveLength(0);
  });
});

describe('percentiles (nearest rank)', () => {
  it.each([
    ['p50 of 1..10', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50, 5],
    ['p95 of 1..10', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95, 10],
    ['p99 of 100 values', Array.from({ length: 100 }, (_, i) => i + 1), 99, 99],
    ['one value', [3], 50, 3],
  ])('%s', (_n, values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });
});
