/**
 * The real runtime on the 16 GB card model (tiny model, CPU EP, ZIMAGE_GPU_CARD): a size the
 * card model says cannot fit is refused with 422 before it costs a queue slot, and the same
 * size is served once offload is raised live through the runtime's ConfigMap (a loopback
 * stand-in for the API server), without a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime, type RuntimeProcess } from '../../dev/runtime-process.ts';
import { fakeConfigMapApi, type FakeConfigMapApi } from '../support/fake-configmap-api.ts';
import {
  decodePng,
  generate,
  readyz,
  scrape,
  untilReadyz,
  type ErrorBody,
  type ImagesBody,
} from '../support/runtime-e2e.ts';

let api: FakeConfigMapApi;
let rt: RuntimeProcess;

beforeAll(async () => {
  api = await fakeConfigMapApi({ steps: 2, offload: 'none' });
  rt = await startRuntime({
    env: {
      ...api.env,
      ZIMAGE_GPU_CARD: 'rtx4090-16gb',
      ZIMAGE_MAX_RESOLUTION: '4096x4096',
    },
  });
});
afterAll(async () => {
  await rt?.stop();
  await api?.close();
});

describe('on the 16 GB card model', () => {
  it('refuses 256x256 without offload, serves it after offload is raised live', async () => {
    const request = { prompt: 'a red fox in snow', size: '256x256', seed: 1 };
    expect((await readyz(rt)).body).toMatchObject({
      engine: { offload: 'none' },
      gpu: { card: 'rtx4090-16gb', memoryGiB: 16, pacing: false },
    });

    // 20.4 GB of weights stay resident with no offload: more than the card before any image.
    const refused = await generate<ErrorBody>(rt, request);
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({
      type: 'invalid_request_error',
      code: 'does_not_fit',
      param: 'size',
    });
    expect(refused.body.error.message).toMatch(
      /^256x256 needs ~19\.8 GiB with attention=flash offload=none on rtx4090-16gb \(16 GiB\); lower the size or raise offload to model/,
    );
    const before = await scrape(rt);
    expect(before.value('zimage_requests_total', { code: '422' })).toBe(1);
    expect(before.value('zimage_images_total')).toBe(0);

    api.set({ steps: 2, offload: 'model' });
    await untilReadyz(rt, 'offload model', (a) => a.body.engine?.offload === 'model', 20_000);

    const served = await generate<ImagesBody>(rt, request);
    expect(served.status, JSON.stringify(served.body)).toBe(200);
    const png = decodePng(served.body.data[0]?.b64_json);
    expect([png.width, png.height]).toEqual([256, 256]);
    // The same process: the offload change was live.
    expect(rt.proc.alive()).toBe(true);
  });

  it('still refuses what no offload makes fit, naming the largest square that does', async () => {
    await untilReadyz(rt, 'offload model', (a) => a.body.engine?.offload === 'model');
    const refused = await generate<ErrorBody>(rt, { prompt: 'a fox', size: '4096x4096' });
    expect(refused.status).toBe(422);
    expect(refused.body.error.message).toBe(
      '4096x4096 needs ~82.5 GiB with attention=flash offload=model on rtx4090-16gb (16 GiB); lower the size (the largest square that fits is 1488x1488)',
    );
  });
});
