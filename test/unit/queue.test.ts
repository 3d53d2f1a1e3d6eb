import { describe, expect, it } from 'vitest';
import { WorkQueue, type Timers } from '../../src/operator/queue.ts';

/** Timers under the test's control: time moves only when advance() says so. */
function fakeTimers() {
  let now = 0;
  const pending: { at: number; fn: () => void; id: number }[] = [];
  let ids = 0;
  const timers: Timers = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = ++ids;
      pending.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout: (id) => {
      const i = pending.findIndex((p) => p.id === id);
      if (i >= 0) pending.splice(i, 1);
    },
  };
  return {
    timers,
    async advance(ms: number) {
      now += ms;
      for (;;) {
        pending.sort((a, b) => a.at - b.at);
        const next = pending[0];
        if (!next || next.at > now) break;
        pending.shift();
        next.fn();
        await flush();
      }
      await flush();
    },
  };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('WorkQueue', () => {
  it('never runs one key twice at once; an add while running runs it again after', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    let release: () => void = () => {};
    const queue = new WorkQueue(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      runs++;
      await new Promise<void>((r) => (release = r));
      running--;
    });
    queue.add('ns/a');
    await flush();
    queue.add('ns/a');
    queue.add('ns/a');
    release();
    await flush();
    await flush();
    release();
    await flush();
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
  });

  it('collapses adds of a waiting key', async () => {
    const seen: string[] = [];
    const queue = new WorkQueue(
      (key) => {
        seen.push(key);
        return Promise.resolve();
      },
      { concurrency: 1 },
    );
    queue.add('a');
    queue.add('b');
    queue.add('b');
    queue.add('b');
    await flush();
    await flush();
    expect(seen).toEqual(['a', 'b']);
  });

  it.each([
    // failures -> delay of the next retry: 5 ms * 2^n
    [1, 5],
    [2, 10],
    [5, 80],
    [10, 2560],
  ])('backs off exponentially: after %i failures the retry waits %i ms', (failures, delay) => {
    const queue = new WorkQueue(() => Promise.resolve(), {
      timers: fakeTimers().timers,
      burst: 1000,
    });
    let last = 0;
    for (let i = 0; i < failures; i++) last = queue.addRateLimited('k');
    expect(last).toBe(delay);
  });

  it('caps the backoff at 1000 s', () => {
    const queue = new WorkQueue(() => Promise.resolve(), {
      timers: fakeTimers().timers,
      burst: 1000,
    });
    let last = 0;
    for (let i = 0; i < 40; i++) last = queue.addRateLimited('k');
    expect(last).toBe(1_000_000);
  });

  it('shares a token bucket across keys: past the burst, retries wait for tokens (10 qps)', () => {
    const queue = new WorkQueue(() => Promise.resolve(), {
      timers: fakeTimers().timers,
      burst: 3,
      qps: 10,
    });
    const delays = ['a', 'b', 'c', 'd', 'e'].map((k) => queue.addRateLimited(k));
    // First retry of each key would be 5 ms; the 4th and 5th wait 100 and 200 ms for tokens.
    expect(delays).toEqual([5, 5, 5, 100, 200]);
  });

  it('retries a failing key with backoff and resets it after a success', async () => {
    const clock = fakeTimers();
    let calls = 0;
    const queue = new WorkQueue(
      () => {
        calls++;
        return calls < 3 ? Promise.reject(new Error('409 conflict')) : Promise.resolve();
      },
      { timers: clock.timers },
    );
    queue.add('k');
    await flush();
    expect(calls).toBe(1);
    await clock.advance(5);
    expect(calls).toBe(2);
    await clock.advance(9);
    expect(calls).toBe(2);
    await clock.advance(1);
    expect(calls).toBe(3);
    // A success forgets the failures: the next failure starts again at 5 ms.
    expect(queue.addRateLimited('k')).toBe(5);
  });

  it('honours requeueAfter and drops delayed work on shutdown, after in-flight work finishes', async () => {
    const clock = fakeTimers();
    let calls = 0;
    const queue = new WorkQueue(
      () => {
        calls++;
        return Promise.resolve({ requeueAfterMs: 30_000 });
      },
      { timers: clock.timers },
    );
    queue.add('k');
    await flush();
    await clock.advance(30_000);
    expect(calls).toBe(2);
    await queue.shutdown();
    await clock.advance(60_000);
    expect(calls).toBe(2);
    queue.add('k');
    await flush();
    expect(calls).toBe(2);
  });
});
