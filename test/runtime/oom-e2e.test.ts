/**
 * A real allocation failure in the real runtime process: the runtime runs under
 * `prlimit --as=<bytes>` (RLIMIT_AS, util-linux), with a limit that leaves room for small
 * images but not for a 1024x1024 one, whose VAE mid-block attention alone allocates a 1 GiB
 * score matrix (128x128 latents = 16,384 tokens; 16,384^2 x 4 B). ORT's arena then fails with
 * "Failed to allocate memory", which the runtime must answer as docs/runtime.md says: 503
 * out_of_memory, zimage_oom_total + 1, /readyz 503 recovering while the sessions are recreated,
 * then 200 and normal service.
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodePng,
  generate,
  generateOk,
  procMemory,
  readyz,
  scrape,
  type ErrorBody,
} from '../support/runtime-e2e.ts';
import { startRuntime, type RuntimeProcess } from '../../dev/runtime-process.ts';

const small = { prompt: 'a red fox in snow', size: '128x64', seed: 1 };
/** One step is enough: the allocation that fails is the VAE decode's. */
const big = { prompt: 'a red fox in snow', size: '1024x1024', steps: 1, seed: 1 };
const GiB = 2 ** 30;
/**
 * glibc gives each thread that allocates its own 64 MiB malloc arena (address space, counted in
 * VmPeak): under a loaded CI host more worker threads ran at once, and the measured gap between
 * the two peaks once shrank from ~2.3 to 1.07 GiB. Two arenas keep VmPeak about allocations.
 */
const env = { MALLOC_ARENA_MAX: '2' };

/**
 * Virtual memory a fresh runtime reaches after a small image, and after a 1024x1024 one.
 * Measured on an unlimited process (this machine: VmPeak ~18.6 GiB after 128x64, of which most
 * is V8's and glibc's reserved but untouched address space, and ~20.8 GiB after 1024x1024).
 */
async function measurePeaks(): Promise<{ small: number; big: number }> {
  const rt = await startRuntime({ env });
  try {
    await generateOk(rt, small);
    const afterSmall = procMemory(rt.proc.pid)['VmPeak'] ?? Number.NaN;
    await generateOk(rt, big);
    const afterBig = procMemory(rt.proc.pid)['VmPeak'] ?? Number.NaN;
    return { small: afterSmall, big: afterBig };
  } finally {
    await rt.stop();
  }
}

describe('out of memory under RLIMIT_AS', () => {
  let rt: RuntimeProcess;
  let limit: number;
  let gap: number;

  beforeAll(async () => {
    try {
      execFileSync('prlimit', ['--version']);
    } catch (err) {
      throw new Error('this test needs prlimit (util-linux) on PATH', { cause: err });
    }
    const peaks = await measurePeaks();
    // 1024x1024 needs ~2.3 GiB more than 128x64. The limit sits half-way: ~1.1 GiB of room
    // above the small image's peak (plenty for 128x64 and for recreating sessions), ~1.1 GiB
    // short of the big image's (its 1 GiB attention scores cannot fit).
    expect(peaks.big - peaks.small, JSON.stringify(peaks)).toBeGreaterThan(1 * GiB);
    gap = peaks.big - peaks.small;
    limit = Math.round(peaks.small + gap / 2);
    rt = await startRuntime({ env, wrapper: ['prlimit', `--as=${limit}`, '--'] });
  });
  afterAll(async () => {
    await rt.stop();
  });

  it('runs small images under the limit, with room to spare', async () => {
    const { body } = await generateOk(rt, small);
    expect(decodePng(body.data[0]?.b64_json).width).toBe(128);
    const peak = procMemory(rt.proc.pid)['VmPeak'] ?? Number.NaN;
    // Half the gap was left as room; a second process's VmPeak differs from the measuring one's
    // by a few 64 MiB malloc arenas (seen: 444 MiB of room left), so ask for 256 MiB: still far
    // more than a 128x64 image needs, and the gap itself is checked above (> 1 GiB).
    expect(limit - peak, `gap ${gap}`).toBeGreaterThan(256 * 2 ** 20);
  });

  it('answers a 1024x1024 image with 503 out_of_memory, recovers, then serves again', async () => {
    const phases: string[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const { status, body } = await readyz(rt);
        if (phases.at(-1) !== `${status} ${body.status}`) phases.push(`${status} ${body.status}`);
        await sleep(5);
      }
    })();

    const failed = await generate<ErrorBody>(rt, big);
    expect(failed.status, JSON.stringify(failed.body)).toBe(503);
    expect(failed.body.error).toMatchObject({ type: 'server_error', code: 'out_of_memory' });
    expect(Number(failed.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // A real allocation failure in ORT, not something the runtime made up.
    expect(rt.proc.tail(100)).toMatch(/Failed to allocate memory/);

    // Recreating the sessions takes ~100 ms here; the poller sees it at a 5 ms interval.
    const recovered = () => phases.length >= 3 && phases.at(-1) === '200 ready';
    for (let i = 0; i < 500 && !recovered(); i++) await sleep(10);
    polling = false;
    await poller;
    expect(phases).toEqual(['200 ready', '503 recovering', '200 ready']);

    const m = await scrape(rt);
    expect(m.value('zimage_oom_total')).toBe(1);
    expect(m.byLabel('zimage_requests_total', 'code')).toEqual({ '200': 1, '503': 1 });

    const { body } = await generateOk(rt, small);
    expect(decodePng(body.data[0]?.b64_json).height).toBe(64);
    expect(rt.proc.alive()).toBe(true);
    expect((await scrape(rt)).value('zimage_oom_total')).toBe(1);
  });
});
