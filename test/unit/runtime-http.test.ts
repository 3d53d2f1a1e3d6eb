/** The runtime's HTTP surface over a fake engine: success, load, failures, auth, probes. */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../support/fake-clock.ts';
import { FakeEngine, fakePng } from '../support/fake-engine.ts';
import {
  post,
  testAppPerTest,
  untilQueued,
  type ErrorBody,
  type TestApp,
} from '../support/runtime-app.ts';

const setup = testAppPerTest();

const ok = { prompt: 'a red fox in snow' };

describe('POST /v1/images/generations: success', () => {
  it('returns the image, the seed and the steps used (default from live config)', async () => {
    const t = await setup({ live: { steps: 7, offload: 'none' } });
    const res = await post(t, { ...ok, size: '512x768', seed: 42 });
    expect(res.statusCode).toBe(200);
    const body = res.json<{
      created: number;
      data: { b64_json: string; seed: number }[];
      seed: number;
      steps: number;
      size: string;
      timings: { queue_ms: number; generation_ms: number; images: unknown[] };
    }>();
    expect(body).toMatchObject({ seed: 42, steps: 7, size: '512x768' });
    expect([...Buffer.from(body.data[0]?.b64_json ?? '', 'base64')]).toEqual(fakePng);
    expect(body.timings.images).toHaveLength(1);
    expect(t.engine.jobs).toEqual([
      { prompt: ok.prompt, width: 512, height: 768, seed: 42, steps: 7 },
    ]);
    expect(res.headers['x-request-id']).toBeDefined();
  });

  it('passes a unicode prompt to the engine unchanged', async () => {
    const t = await setup();
    const prompt = '一只猫 🐱 café';
    expect((await post(t, { prompt })).statusCode).toBe(200);
    expect(t.engine.jobs[0]?.prompt).toBe(prompt);
  });

  it('runs n images with seed, seed+1, ... (wrapping at 2^32)', async () => {
    const t = await setup();
    const res = await post(t, { ...ok, n: 3, seed: 2 ** 32 - 2, steps: 4 });
    expect(res.statusCode).toBe(200);
    expect(t.engine.jobs.map((j) => j.seed)).toEqual([2 ** 32 - 2, 2 ** 32 - 1, 0]);
    expect(res.json<{ data: { seed: number }[] }>().data.map((d) => d.seed)).toEqual([
      2 ** 32 - 2,
      2 ** 32 - 1,
      0,
    ]);
  });

  it('draws a random seed when none is given, and returns it', async () => {
    const t = await setup();
    const res = await post(t, ok);
    const { seed } = res.json<{ seed: number }>();
    expect(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32).toBe(true);
    expect(t.engine.jobs[0]?.seed).toBe(seed);
  });

  it('defaults the size to 1024x1024, capped by the maximum', async () => {
    const t = await setup({ env: { ZIMAGE_MAX_RESOLUTION: '768x1024' } });
    await post(t, ok);
    expect(t.engine.jobs[0]).toMatchObject({ width: 768, height: 1024 });
  });

  it('accepts and ignores model and user; accepts response_format b64_json', async () => {
    const t = await setup();
    const res = await post(t, {
      ...ok,
      model: 'dall-e-3',
      user: 'u1',
      response_format: 'b64_json',
    });
    expect(res.statusCode).toBe(200);
  });
});

describe('engine failures and load', () => {
  it.each([
    ['OUT_OF_MEMORY', 503, 'out_of_memory'],
    ['INTERNAL', 500, 'internal_error'],
    ['CANCELLED', 503, 'cancelled'],
  ] as const)('%s -> %i %s, no internals leaked', async (code, status, apiCode) => {
    const engine = new FakeEngine();
    engine.failWith = () => ({ code, message: 'BFCArena secret internals at 0xdeadbeef' });
    const t = await setup({ engine });
    const res = await post(t, ok);
    expect(res.statusCode).toBe(status);
    const { error } = res.json<ErrorBody>();
    expect(error).toMatchObject({ type: 'server_error', code: apiCode, param: null });
    expect(error.message).not.toContain('deadbeef');
    if (code === 'OUT_OF_MEMORY')
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('queue full -> 429 with Retry-After from the sizes and steps queued, at the rates seen', async () => {
    const clock = new FakeClock();
    const engine = new FakeEngine({ sleep: (ms) => clock.sleep(ms), stepMs: 1_000 });
    const t = await setup({ engine, clock, env: { ZIMAGE_MAX_QUEUE: '1' } });
    // History: 4 steps of 1 s at 512x512 (a quarter of 1024^2): 4 s per 1024^2 step; the
    // fake's 2 ms of encode + decode: 8 ms per 1024^2 image.
    const history = post(t, { ...ok, size: '512x512', steps: 4 });
    await untilQueued(t, 0);
    await clock.advance(4_000);
    expect((await history).statusCode).toBe(200);

    const first = post(t, { ...ok, size: '512x512', steps: 5 });
    const second = post(t, { ...ok, size: '256x256', steps: 5 });
    await untilQueued(t, 1);
    const third = await post(t, { ...ok, steps: 5 });
    expect(third.statusCode).toBe(429);
    expect(third.json<ErrorBody>().error).toMatchObject({
      type: 'rate_limit_error',
      code: 'queue_full',
    });
    // Running 512^2: 1/4 x (5 x 4000 + 8) = 5002 ms; queued 256^2: 1/16 of 20008 = 1250.5 ms;
    // 6252.5 ms -> 7 s (counting requests at 4 s each would say 8).
    expect(third.headers['retry-after']).toBe('7');
    await clock.advance(10_000);
    expect((await first).statusCode).toBe(200);
    expect((await second).statusCode).toBe(200);
  });

  it('deadline -> 504 for the running request; the next one succeeds', async () => {
    const clock = new FakeClock();
    const engine = new FakeEngine({ sleep: (ms) => clock.sleep(ms), stepMs: 1_000 });
    const t = await setup({ engine, clock, env: { ZIMAGE_REQUEST_TIMEOUT_SECONDS: '10' } });
    const slow = post(t, { ...ok, steps: 30 });
    await untilQueued(t, 0);
    await clock.advance(5_000);
    // Arrives at 5 s: its own deadline is at 15 s.
    const next = post(t, { ...ok, steps: 2 });
    await untilQueued(t, 1);
    await clock.advance(5_000);
    const res = await slow;
    expect(res.statusCode).toBe(504);
    expect(res.json<ErrorBody>().error).toMatchObject({
      code: 'deadline_exceeded',
      type: 'server_error',
    });
    expect(res.json<ErrorBody>().error.message).toMatch(/deadline of 10 s passed while generating/);
    await clock.advance(3_000);
    expect((await next).statusCode).toBe(200);
    expect(engine.stepsRun).toEqual([10, 2]);
  });

  it('draining -> POST 503 and /readyz 503, /healthz 200', async () => {
    const t = await setup();
    t.state.markDraining();
    void t.queue.drain();
    const res = await post(t, ok);
    expect(res.statusCode).toBe(503);
    expect(res.json<ErrorBody>().error.message).toMatch(/shutting down/);
    expect((await t.app.inject({ url: '/readyz' })).statusCode).toBe(503);
    expect((await t.app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  it.each([
    ['starting', (t: TestApp) => t, /still loading/],
    ['recovering', (t: TestApp) => t.state.setRecovering(true), /recovering from an out-of-memory/],
  ])('%s -> POST 503 and /readyz 503', async (_name, arrange, message) => {
    const t = await setup({ started: _name !== 'starting' });
    arrange(t);
    const res = await post(t, ok);
    expect(res.statusCode).toBe(503);
    expect(res.json<ErrorBody>().error.message).toMatch(message);
    const ready = await t.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json<{ status: string }>().status).toBe(_name);
  });
});

describe('bearer token', () => {
  const env = { ZIMAGE_API_TOKEN: 'correct-horse' };
  it.each([
    ['missing', undefined, 401, /missing bearer token/, 'Bearer realm="zimage"'],
    [
      'wrong',
      'Bearer nope',
      401,
      /invalid bearer token/,
      'Bearer realm="zimage", error="invalid_token"',
    ],
    ['wrong scheme', 'Basic Zm9vOmJhcg==', 401, /missing bearer token/, 'Bearer realm="zimage"'],
    [
      'a prefix of the right one',
      'Bearer correct',
      401,
      /invalid bearer token/,
      'Bearer realm="zimage", error="invalid_token"',
    ],
  ])(
    '%s token -> 401 with WWW-Authenticate',
    async (_name, authorization, status, message, challenge) => {
      const t = await setup({ env });
      const res = await post(t, ok, authorization ? { authorization } : {});
      expect(res.statusCode).toBe(status);
      expect(res.headers['www-authenticate']).toBe(challenge);
      expect(res.json<ErrorBody>().error).toMatchObject({ type: 'authentication_error' });
      expect(res.json<ErrorBody>().error.message).toMatch(message);
      expect(t.engine.jobs).toEqual([]);
    },
  );

  it.each([['Bearer correct-horse'], ['bearer correct-horse'], ['Bearer  correct-horse  ']])(
    'the right token passes: %j',
    async (authorization) => {
      const t = await setup({ env });
      expect((await post(t, ok, { authorization })).statusCode).toBe(200);
    },
  );

  it('probes and /metrics need no token', async () => {
    const t = await setup({ env });
    for (const url of ['/healthz', '/readyz', '/metrics']) {
      expect((await t.app.inject({ url })).statusCode).toBe(200);
    }
  });

  it('unauthenticated bodies are not parsed (401 before 413)', async () => {
    const t = await setup({ env });
    const res = await post(t, { prompt: 'x'.repeat(70_000) });
    expect(res.statusCode).toBe(401);
  });
});

describe('probes and metrics', () => {
  it('/readyz reports what runs', async () => {
    const t = await setup({ live: { steps: 6, offload: 'none' } });
    const res = await t.app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'ready',
      engine: {
        ep: 'cpu',
        attention: 'flash',
        offload: 'none',
        steps: 6,
        transformerVariant: 'fused',
        resident: ['text_encoder', 'transformer', 'vae_decoder'],
        componentProviders: { transformer: 'cpu' },
      },
      startup: { sessionsSeconds: 1.5, generationSeconds: 0.5 },
      queue: { queued: 0, running: 0 },
    });
  });

  it('/metrics has every runtime metric, with buckets past 15 s', async () => {
    const t = await setup();
    await post(t, ok);
    const res = await t.app.inject({ url: '/metrics' });
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    const text = res.body;
    for (const name of [
      'zimage_generation_duration_seconds_bucket{le="120"}',
      'zimage_generation_duration_seconds_bucket{le="300"}',
      'zimage_step_duration_seconds_count 9',
      'zimage_request_duration_seconds_count 1',
      'zimage_queue_depth 0',
      'zimage_inflight_requests 0',
      'zimage_requests_total{code="200"} 1',
      'zimage_images_total 1',
      'zimage_warmup_seconds',
      'zimage_oom_total 0',
      'zimage_config_info{steps="9",offload="none",attention="flash",ep="cpu",transformer="fused",kernel="UNREPORTED",pacing="off"} 1',
      'zimage_config_errors_total',
      'zimage_resident_sessions{component="transformer"} 1',
      'zimage_ready 1',
      'zimage_process_cpu_seconds_total',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('config info keeps one series when the offload mode changes', async () => {
    const t = await setup();
    await t.engine.setOffload('model');
    const text = await t.metrics.registry.metrics();
    expect(text.match(/^zimage_config_info\{/gm)).toHaveLength(1);
    expect(text).toContain('offload="model"');
  });

  it('unknown routes -> 404 in the same error shape', async () => {
    const t = await setup();
    const res = await t.app.inject({ url: '/v1/models' });
    expect(res.statusCode).toBe(404);
    expect(res.json<ErrorBody>().error.code).toBe('not_found');
  });
});
