import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../src/operator/queue.ts';
import { FakeClock, settle } from '../support/fake-clock.ts';

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
    await settle();
    queue.add('ns/a');
    queue.add('ns/a');
    release();
    await settle();
    await settle();
    release();
    await settle();
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
    await settle();
    await settle();
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
      clock: new FakeClock(),
      burst: 1000,
    });
    let last = 0;
    for (let i = 0; i < failures; i++) last = queue.addRateLimited('k');
    expect(last).toBe(delay);
  });

  it('caps the backoff at 1000 s', () => {
    const queue = new WorkQueue(() => Promise.resolve(), {
      clock: new FakeClock(),
      burst: 1000,
    });
    let last = 0;
    for (let i = 0; i < 40; i++) last = queue.addRateLimited('k');
    expect(last).toBe(1_000_000);
  });

  it('shares a token bucket across keys: past the burst, retries wait for tokens (10 qps)', () => {
    const queue = new WorkQueue(() => Promise.resolve(), {
      clock: new FakeClock(),
      burst: 3,
      qps: 10,
    });
    const delays = ['a', 'b', 'c', 'd', 'e'].map((k) => queue.addRateLimited(k));
    // First retry of each key would be 5 ms; the 4th and 5th wait 100 and 200 ms for tokens.
    expect(delays).toEqual([5, 5, 5, 100, 200]);
  });

  it('retries a failing key with backoff and resets it after a success', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const queue = new WorkQueue(
      () => {
        calls++;
        return calls < 3 ? Promise.reject(new Error('409 conflict')) : Promise.resolve();
      },
      { clock },
    );
    queue.add('k');
    await settle();
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

  it.each([
    {
      name: 'a key taken at once waited 0 ms',
      script: (q: WorkQueue) => q.add('a'),
      waits: [0],
    },
    {
      name: 'behind one 100 ms reconcile (1 worker) the next key waits 100 ms',
      script: (q: WorkQueue) => ['a', 'b'].forEach((k) => q.add(k)),
      waits: [0, 100],
    },
    {
      name: 'a delayed add counts from its delay being over, not from the call',
      script: (q: WorkQueue) => q.addAfter('a', 5_000),
      waits: [0],
    },
    {
      name: 'adds that collapse count from the first',
      script: async (q: WorkQueue, clock: FakeClock) => {
        ['a', 'b'].forEach((k) => q.add(k));
        await clock.advance(60);
        q.add('b');
      },
      waits: [0, 100],
    },
  ])('reports queue wait: $name', async ({ script, waits }) => {
    const clock = new FakeClock();
    const seen: number[] = [];
    const queue = new WorkQueue(() => clock.sleep(100), {
      clock,
      concurrency: 1,
      onWait: (ms) => seen.push(ms),
    });
    await script(queue, clock);
    await clock.advance(10_000);
    expect(seen).toEqual(waits);
  });

  it('honours requeueAfter: the key runs again when its delay is due', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const queue = new WorkQueue(
      () => {
        calls++;
        return Promise.resolve({ requeueAfterMs: 30_000 });
      },
      { clock },
    );
    queue.add('k');
    await settle();
    expect(clock.pending()).toEqual([30_000]);
    await clock.advance(29_999);
    expect(calls).toBe(1);
    await clock.advance(1);
    expect(calls).toBe(2);
  });

  it('shutdown drops delayed work at once, resolves only after in-flight work finishes, then takes nothing', async () => {
    const clock = new FakeClock();
    const runs: string[] = [];
    const log: string[] = [];
    const release = new Map<string, () => void>();
    const queue = new WorkQueue(
      async (key) => {
        runs.push(key);
        if (key === 'later') return { requeueAfterMs: 30_000 };
        await new Promise<void>((resolve) => release.set(key, resolve));
        log.push(`${key} finished`);
        if (key === 'failing') throw new Error('409 conflict');
        return { requeueAfterMs: 1_000 };
      },
      { clock },
    );
    queue.add('later');
    queue.add('slow');
    queue.add('failing');
    await settle();
    expect(runs).toEqual(['later', 'slow', 'failing']);
    expect(clock.pending()).toEqual([30_000]);

    const stopped = queue.shutdown().then(() => log.push('shutdown resolved'));
    await settle();
    // Two reconciles are still running: shutdown waits for them; the delayed one is gone.
    expect(log).toEqual([]);
    expect(clock.pending()).toEqual([]);
    release.get('failing')?.();
    await settle();
    expect(log).toEqual(['failing finished']);
    release.get('slow')?.();
    await stopped;
    expect(log).toEqual(['failing finished', 'slow finished', 'shutdown resolved']);

    // Neither the failure's retry nor the finished key's requeueAfter was scheduled.
    expect(clock.pending()).toEqual([]);
    await clock.advance(60_000);
    queue.add('later');
    await settle();
    expect(runs).toEqual(['later', 'slow', 'failing']);
  });
});
