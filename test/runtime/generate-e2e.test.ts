/**
 * POST /v1/images/generations over real HTTP against the real runtime process (tiny model, ORT
 * CPU EP): PNG bytes and sizes, determinism per seed, steps, n, prompt limits, and /metrics
 * agreeing with what this file sent. The validation table runs in bad-requests-e2e.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodePng,
  generate,
  pngBytes,
  pngSignature,
  scrape,
  type ErrorBody,
  type ImagesBody,
} from '../support/runtime-e2e.ts';
import { startRuntime, type RuntimeProcess } from '../../dev/runtime-process.ts';

let rt: RuntimeProcess;
beforeAll(async () => {
  rt = await startRuntime();
});
afterAll(async () => {
  await rt.stop();
});

/** What this file sent, to check /metrics against: statuses, images and denoising steps. */
const sent = { codes: new Map<number, number>(), images: 0, steps: 0 };

async function call(body: unknown, headers: Record<string, string> = {}) {
  const answer = await generate<ImagesBody & ErrorBody>(rt, body, headers);
  sent.codes.set(answer.status, (sent.codes.get(answer.status) ?? 0) + 1);
  if (answer.status === 200) {
    sent.images += answer.body.data.length;
    sent.steps += answer.body.data.length * answer.body.steps;
  }
  return answer;
}

async function ok(body: Record<string, unknown>): Promise<ImagesBody> {
  const answer = await call(body);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body;
}

const firstPng = (body: ImagesBody) => pngBytes(body.data[0]?.b64_json);

/** 128x64 keeps each image at ~30 ms on the CPU EP. */
const small = { prompt: 'a red fox in snow', size: '128x64' };

describe('generation over HTTP', () => {
  it('returns a PNG of the requested size, with the seed and size echoed', async () => {
    const answer = await call({ ...small, seed: 7 });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-request-id')).toMatch(/\S+/);
    const { data, seed, size } = answer.body;
    expect({ seed, size, count: data.length, imageSeed: data[0]?.seed }).toEqual({
      seed: 7,
      size: '128x64',
      count: 1,
      imageSeed: 7,
    });
    expect([...pngBytes(data[0]?.b64_json).subarray(0, 8)]).toEqual(pngSignature);
    const png = decodePng(data[0]?.b64_json);
    expect({
      width: png.width,
      height: png.height,
      channels: png.channels,
      depth: png.depth,
    }).toEqual({ width: 128, height: 64, channels: 3, depth: 8 });
    // Not a blank image: the tiny model's output varies across pixels.
    expect(new Set(png.data).size).toBeGreaterThan(16);
  });

  it('is deterministic per seed: same seed -> same bytes, another seed -> other bytes', async () => {
    const image = async (seed: number) => firstPng(await ok({ ...small, seed }));
    const first = await image(42);
    expect(first.equals(await image(42))).toBe(true);
    expect(first.equals(await image(43))).toBe(false);
  });

  it.each([
    ['1 step', 1],
    ['9 steps', 9],
    ['50 steps', 50],
  ])('runs %s and reports it', async (_name, steps) => {
    const before = (await scrape(rt)).value('zimage_step_duration_seconds_count');
    const body = await ok({ ...small, seed: 5, steps });
    expect(body.steps).toBe(steps);
    // Each denoising step is one observation: the engine really ran `steps` forwards.
    const after = (await scrape(rt)).value('zimage_step_duration_seconds_count');
    expect(after - before).toBe(steps);
  });

  it('different step counts give different images for one seed', async () => {
    const one = await ok({ ...small, seed: 5, steps: 1 });
    const nine = await ok({ ...small, seed: 5, steps: 9 });
    expect(firstPng(one).equals(firstPng(nine))).toBe(false);
  });

  it.each([
    ['from seed 1000', 1000, [1000, 1001]],
    ['wrapping at 2^32', 4294967295, [4294967295, 0]],
  ])('n=2 runs seeds seed and seed+1 (%s), each reproducible alone', async (_name, seed, seeds) => {
    const pair = await ok({ ...small, seed, n: 2 });
    expect(pair.data.map((d) => d.seed)).toEqual(seeds);
    expect(pair.timings.images).toHaveLength(2);
    const [first, second] = pair.data.map((d) => pngBytes(d.b64_json));
    const alone = firstPng(await ok({ ...small, seed: seeds[1] }));
    expect(second?.equals(alone)).toBe(true);
    expect(first?.equals(alone)).toBe(false);
  });

  it('takes a unicode prompt, which conditions the image', async () => {
    const body = await ok({ ...small, prompt: '一只猫 🐱 café — naïve', seed: 3 });
    expect(decodePng(body.data[0]?.b64_json).width).toBe(128);
    const ascii = await ok({ ...small, prompt: 'a cat cafe naive', seed: 3 });
    expect(firstPng(body).equals(firstPng(ascii))).toBe(false);
  });

  it('refuses a prompt over 512 tokens (under the 4000-character cap) naming prompt', async () => {
    // 1,200 characters of "x x x ..." are 1,217 tokens once chat-templated: the engine's
    // token limit answers, not the request schema's character cap.
    const answer = await call({ ...small, prompt: 'x '.repeat(600) });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({
      type: 'invalid_request_error',
      param: 'prompt',
      code: 'prompt_too_long',
    });
    expect(answer.body.error.message).toMatch(/^prompt: prompt is \d+ tokens .*the limit is 512$/);
  });
});

describe('/metrics after the requests above', () => {
  it('counts requests by status, images and steps, with buckets past 120 s', async () => {
    await ok({ ...small, seed: 12 });
    const m = await scrape(rt);

    const codes = m.byLabel('zimage_requests_total', 'code');
    expect(codes).toEqual(
      Object.fromEntries([...sent.codes].map(([code, count]) => [String(code), count])),
    );
    expect(codes['200']).toBeGreaterThanOrEqual(15);

    const buckets = m.all('zimage_generation_duration_seconds_bucket').map((s) => s.labels['le']);
    expect(buckets).toEqual(expect.arrayContaining(['0.1', '15', '120', '300', '+Inf']));
    const count = m.value('zimage_generation_duration_seconds_count');
    expect(count).toBe(sent.images);
    // Tiny images take milliseconds: every one falls in the 120 s bucket already.
    expect(m.value('zimage_generation_duration_seconds_bucket', { le: '120' })).toBe(count);
    expect(m.value('zimage_generation_duration_seconds_bucket', { le: '+Inf' })).toBe(count);
    expect(m.value('zimage_images_total')).toBe(sent.images);
    expect(m.value('zimage_step_duration_seconds_count')).toBe(sent.steps);
    expect(m.value('zimage_request_duration_seconds_count')).toBe(
      [...sent.codes.values()].reduce((a, b) => a + b, 0),
    );

    expect(m.all('zimage_config_info')).toEqual([
      {
        labels: {
          steps: '9',
          offload: 'none',
          attention: 'flash',
          ep: 'cpu',
          transformer: 'fused',
          kernel: 'UNREPORTED',
          pacing: 'off',
        },
        value: 1,
      },
    ]);
    expect(m.value('zimage_ready')).toBe(1);
  });
});
