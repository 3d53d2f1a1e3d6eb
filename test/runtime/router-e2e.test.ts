/**
 * The real router process in front of real runtime processes (the tiny model on the CPU EP, or
 * the fake pipeline where timing matters), over loopback HTTP: fan-out with byte-identical
 * images, the runtime's own 4xx, a pod killed mid-request, deadlines refused before they run,
 * and a SIGTERM under load that loses nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killGroup, pidAlive } from '../../dev/process.ts';
import { startRouter, type RouterProcess } from '../../dev/router-process.ts';
import { startRuntime, type RuntimeProcess } from '../../dev/runtime-process.ts';
import { fakePipelineEnv, type ErrorBody, type ImagesBody } from '../support/runtime-e2e.ts';

const eight = { ZIMAGE_MAX_IMAGES_PER_REQUEST: '8' };

async function json<T>(res: Response): Promise<{ status: number; body: T; headers: Headers }> {
  const text = await res.text();
  return {
    status: res.status,
    body: (text ? JSON.parse(text) : undefined) as T,
    headers: res.headers,
  };
}

describe('router in front of three runtime pods (tiny model)', () => {
  let pods: RuntimeProcess[] = [];
  let router: RouterProcess;
  beforeAll(async () => {
    pods = await Promise.all([0, 1, 2].map(() => startRuntime({ env: eight })));
    router = await startRouter(
      pods.map((p) => p.url),
      eight,
    );
  });
  afterAll(async () => {
    await router?.stop();
    await Promise.all(pods.map((p) => p.stop()));
  });

  it('spreads an n=8 request over the pods and returns the images a pod makes for it directly, byte for byte', async () => {
    const request = { prompt: 'a red fox in snow', size: '128x64', n: 8, seed: 4_294_967_290 };
    const via = await json<ImagesBody & { timings: { pods: string[] } }>(
      await router.post('/v1/images/generations', request),
    );
    const direct = await json<ImagesBody>(await pods[0]!.post('/v1/images/generations', request));
    expect(via.status, JSON.stringify(via.body)).toBe(200);
    expect(direct.status).toBe(200);
    expect(via.body.data.map((d) => d.seed)).toEqual(direct.body.data.map((d) => d.seed));
    expect(via.body.data.map((d) => d.b64_json)).toEqual(direct.body.data.map((d) => d.b64_json));
    expect([via.body.seed, via.body.steps, via.body.size]).toEqual([
      direct.body.seed,
      direct.body.steps,
      direct.body.size,
    ]);
    expect(new Set(via.body.timings.pods).size).toBeGreaterThan(1);
  });

  it('passes a single image through as its pod answered', async () => {
    const request = { prompt: 'a lighthouse', size: '64x64', seed: 3 };
    const via = await json<ImagesBody>(await router.post('/v1/images/generations', request));
    const direct = await json<ImagesBody>(await pods[1]!.post('/v1/images/generations', request));
    expect(via.status).toBe(200);
    expect(via.headers.get('x-zimage-router-wait-ms')).toMatch(/^\d+$/);
    expect(via.body.data[0]!.b64_json).toBe(direct.body.data[0]!.b64_json);
  });

  it.each<[string, unknown, Record<string, string>?]>([
    ['no prompt', { size: '64x64' }],
    ['a typo in a field name', { prompt: 'x', step: 4 }],
    ['size with a leading zero', { prompt: 'x', size: '064x64' }],
    ['too many images', { prompt: 'x', n: 9 }],
    ['steps out of range', { prompt: 'x', steps: 0 }],
    ['a seed past 2^32', { prompt: 'x', seed: 2 ** 32 }],
    ['prototype pollution', '{"prompt":"x","__proto__":{"a":1}}'],
    ['not JSON', '{"prompt":'],
    ['an array', '[1,2]'],
    ['url response format', { prompt: 'x', response_format: 'url' }],
    ['wrong content type', 'prompt=x', { 'content-type': 'text/plain' }],
  ])('answers a hostile body as the runtime does: %s', async (_name, body, headers = {}) => {
    const via = await json<ErrorBody>(await router.post('/v1/images/generations', body, headers));
    const direct = await json<ErrorBody>(
      await pods[2]!.post('/v1/images/generations', body, headers),
    );
    expect(via.status).toBeGreaterThanOrEqual(400);
    expect(via.status).toBeLessThan(500);
    expect([via.status, via.body.error]).toEqual([direct.status, direct.body.error]);
  });
});

describe('router faults (fake pipeline: 20 ms a step, no model)', () => {
  const fakeEnv = { ...fakePipelineEnv, ...eight };

  it('loses nothing when a pod is killed mid-request: its images run again elsewhere', async () => {
    const pods = await Promise.all([0, 1, 2].map(() => startRuntime({ env: fakeEnv })));
    const router = await startRouter(
      pods.map((p) => p.url),
      eight,
    );
    try {
      const pending = router.post('/v1/images/generations', {
        prompt: 'p',
        size: '64x64',
        n: 8,
        steps: 25,
        seed: 1,
      });
      await new Promise((r) => setTimeout(r, 200));
      killGroup(pods[0]!.proc.pid, 'SIGKILL');
      const answer = await json<ImagesBody>(await pending);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.data.map((d) => d.seed)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      const metrics = await (await router.get('/metrics')).text();
      expect(metrics).toMatch(/zimage_router_retries_total\{reason="connection"\} [1-9]/);
    } finally {
      await router.stop();
      await Promise.all(pods.map((p) => p.stop()));
    }
  });

  it('refuses with 429 before running what would finish past its deadline', async () => {
    const deadline = { ZIMAGE_REQUEST_TIMEOUT_SECONDS: '3' };
    const pod = await startRuntime({ env: { ...fakeEnv, ...deadline } });
    const router = await startRouter([pod.url], { ...eight, ...deadline });
    try {
      // One image teaches the router the pod's rate: 50 steps x 20 ms = ~1 s.
      const first = await router.post('/v1/images/generations', {
        prompt: 'p',
        size: '64x64',
        steps: 50,
      });
      expect(first.status).toBe(200);
      const started = performance.now();
      const late = await json<ErrorBody>(
        await router.post('/v1/images/generations', {
          prompt: 'p',
          size: '64x64',
          steps: 50,
          n: 8,
        }),
      );
      expect(late.status).toBe(429);
      expect(late.body.error.code).toBe('would_miss_deadline');
      expect(Number(late.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(performance.now() - started).toBeLessThan(1_000);
      // The pod refuses it too when sent directly.
      const direct = await json<ErrorBody>(
        await pod.post('/v1/images/generations', { prompt: 'p', size: '64x64', steps: 50, n: 8 }),
      );
      expect([direct.status, direct.body.error.code]).toEqual([429, 'would_miss_deadline']);
    } finally {
      await router.stop();
      await pod.stop();
    }
  });

  it('answers every admitted request through a SIGTERM under load, then exits 0', async () => {
    const pods = await Promise.all([0, 1].map(() => startRuntime({ env: fakeEnv })));
    const router = await startRouter(
      pods.map((p) => p.url),
      eight,
    );
    try {
      const answers = Array.from({ length: 6 }, (_, i) =>
        router.post('/v1/images/generations', {
          prompt: 'p',
          size: '64x64',
          steps: 10,
          n: 2,
          seed: i,
        }),
      );
      await new Promise((r) => setTimeout(r, 100));
      killGroup(router.proc.pid, 'SIGTERM');
      const statuses = await Promise.all(answers.map(async (a) => (await a).status));
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
      expect(await router.proc.exited).toBe(0);
    } finally {
      await router.stop();
      await Promise.all(pods.map((p) => p.stop()));
    }
  });
});

describe('router with API tokens (fake pipeline)', () => {
  it('refuses a client without the token with 401, and sends its own token to the pods', async () => {
    const pod = await startRuntime({ env: { ...fakePipelineEnv, ZIMAGE_API_TOKEN: 'pod-secret' } });
    const router = await startRouter([pod.url], {
      ZIMAGE_API_TOKEN: 'client-secret',
      ZIMAGE_POD_API_TOKEN: 'pod-secret',
    });
    try {
      const request = { prompt: 'a kite', size: '64x64', steps: 1 };
      const none = await json<ErrorBody>(await router.post('/v1/images/generations', request));
      const direct = await json<ErrorBody>(await pod.post('/v1/images/generations', request));
      expect(none.status).toBe(401);
      expect([none.status, none.body.error]).toEqual([direct.status, direct.body.error]);
      const wrong = await router.post('/v1/images/generations', request, {
        authorization: 'Bearer pod-secret',
      });
      expect(wrong.status).toBe(401);
      const ok = await router.post('/v1/images/generations', request, {
        authorization: 'Bearer client-secret',
      });
      expect(ok.status).toBe(200);
      // Probes and metrics stay open, outside the API's scope.
      expect((await router.get('/metrics')).status).toBe(200);
    } finally {
      await router.stop();
      await pod.stop();
    }
  }, 60_000);
});

describe('token files rotated under a running router and pod (fake pipeline)', () => {
  /**
   * As kubelet updates a Secret volume: a new folder, then the `..data` symlink renamed over
   * the old one; the files the processes read are links through `..data`.
   */
  function secretDir(data: Record<string, string>) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zimage-auth-'));
    let n = 0;
    const write = (next: Record<string, string>) => {
      const folder = `..v${n++}`;
      fs.mkdirSync(path.join(dir, folder));
      for (const [k, v] of Object.entries(next)) fs.writeFileSync(path.join(dir, folder, k), v);
      fs.symlinkSync(folder, path.join(dir, '..data_tmp'));
      fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
      for (const k of Object.keys(next)) {
        if (!fs.existsSync(path.join(dir, k))) fs.symlinkSync(`..data/${k}`, path.join(dir, k));
      }
    };
    write(data);
    return { dir, write, file: (k: string) => path.join(dir, k) };
  }

  it('takes new tokens without a restart and refuses the old ones once the grace is over', async () => {
    const secret = secretDir({ token: 'client-a\n', 'pod-token': 'pod-a\n' });
    const grace = { ZIMAGE_TOKEN_GRACE_SECONDS: '3' };
    const pod = await startRuntime({
      env: { ...fakePipelineEnv, ...grace, ZIMAGE_API_TOKEN_FILE: secret.file('pod-token') },
    });
    const router = await startRouter([pod.url], {
      ...grace,
      ZIMAGE_API_TOKEN_FILE: secret.file('token'),
      ZIMAGE_POD_API_TOKEN_FILE: secret.file('pod-token'),
    });
    const request = { prompt: 'a kite', size: '64x64', steps: 1 };
    const status = async (token: string) =>
      (await router.post('/v1/images/generations', request, { authorization: `Bearer ${token}` }))
        .status;
    const waitFor = async (what: () => Promise<boolean>) => {
      const until = Date.now() + 10_000;
      while (!(await what())) {
        if (Date.now() > until) throw new Error('timed out');
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      expect(await status('client-a')).toBe(200);
      expect(await status('client-b')).toBe(401);
      secret.write({ token: 'client-b\n', 'pod-token': 'pod-b\n' });
      await waitFor(async () => (await status('client-b')) === 200);
      // Within the grace the old client token still passes, and the router's new pod token
      // reaches a pod that may still hold only the old one (its 401 is retried with pod-a).
      expect(await status('client-a')).toBe(200);
      const direct = async (token: string) =>
        (await pod.post('/v1/images/generations', request, { authorization: `Bearer ${token}` }))
          .status;
      expect(await direct('pod-b')).toBe(200);
      await waitFor(async () => (await status('client-a')) === 401);
      expect(await direct('pod-a')).toBe(401);
      expect(await status('client-b')).toBe(200);
      // The processes that started are the ones that answered: nothing restarted.
      expect([router.proc.pid, pod.proc.pid].map((pid) => pidAlive(pid))).toEqual([true, true]);
    } finally {
      await router.stop();
      await pod.stop();
      fs.rmSync(secret.dir, { recursive: true, force: true });
    }
  }, 60_000);
});
