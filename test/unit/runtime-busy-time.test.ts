import { describe, expect, it } from 'vitest';
import { BusyTime } from '../../src/runtime/metrics.ts';
import { post, testAppPerTest } from '../support/runtime-app.ts';

/** A promise the test settles by hand. */
function deferred() {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('BusyTime (zimage_generation_busy_seconds_total)', () => {
  it('counts the running generation at read time, then adds it when it ends', async () => {
    let now = 0;
    const busy = new BusyTime(() => now);
    const work = deferred();
    const tracked = busy.track({ width: 1024, height: 512 }, work.promise);
    now = 400;
    expect(busy.seconds()).toBeCloseTo(0.4, 9);
    expect(busy.pixels()).toBe(1024 * 512);
    now = 1_000;
    work.resolve();
    await tracked;
    expect(busy.seconds()).toBeCloseTo(1, 9);
    expect(busy.pixels()).toBe(0);
    now = 5_000;
    expect(busy.seconds()).toBeCloseTo(1, 9);
  });

  it('counts a failed generation too (the GPU was busy until it failed)', async () => {
    let now = 0;
    const busy = new BusyTime(() => now);
    const work = deferred();
    const tracked = busy.track({ width: 64, height: 64 }, work.promise);
    now = 250;
    work.reject(new Error('out of memory'));
    await expect(tracked).rejects.toThrow('out of memory');
    expect(busy.seconds()).toBeCloseTo(0.25, 9);
    expect(busy.pixels()).toBe(0);
  });
});

describe('busy metrics on /metrics', () => {
  const setup = testAppPerTest();
  const sample = (text: string, name: string) =>
    Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);

  it('exposes busy seconds and in-flight pixels, which grow with a generation', async () => {
    const t = await setup();
    const before = (await t.app.inject({ url: '/metrics' })).body;
    expect(sample(before, 'zimage_generation_busy_seconds_total')).toBe(0);
    expect(sample(before, 'zimage_generation_inflight_pixels')).toBe(0);
    expect((await post(t, { prompt: 'a cat', size: '64x64' })).statusCode).toBe(200);
    const after = (await t.app.inject({ url: '/metrics' })).body;
    expect(sample(after, 'zimage_generation_busy_seconds_total')).toBeGreaterThan(0);
    expect(after).toContain('# TYPE zimage_generation_busy_seconds_total counter');
  });
});
