/**
 * Attention backends and offload modes of the real runtime process: what /readyz and
 * zimage_config_info report follows the environment, and the modes behave as reported
 * (offload `model` keeps no session resident and pays session creation on every request).
 * One process per mode; each starts in about a second on the tiny model.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodePng, generateOk, readyz, scrape, type ReadyBody } from '../support/runtime-e2e.ts';
import { startRuntime, type RuntimeProcess } from '../../dev/runtime-process.ts';

let rt: RuntimeProcess | undefined;
afterEach(async () => {
  await rt?.stop();
  rt = undefined;
});

async function start(env: Record<string, string>): Promise<RuntimeProcess> {
  rt = await startRuntime({ env });
  return rt;
}

const request = { prompt: 'a red fox in snow', size: '256x256', seed: 1 };
const all = ['text_encoder', 'transformer', 'vae_decoder'];
const onCpu = { text_encoder: 'cpu', transformer: 'cpu', vae_decoder: 'cpu' };

describe('modes as reported and as run', () => {
  // [name, env, engine as /readyz reports it after a request]
  const rows: [string, Record<string, string>, NonNullable<ReadyBody['engine']>][] = [
    [
      'attention flash: fused MultiHeadAttention graph',
      { ZIMAGE_ATTENTION: 'flash' },
      engine({ attention: 'flash', transformerVariant: 'fused' }),
    ],
    [
      'attention efficient: fused graph too',
      { ZIMAGE_ATTENTION: 'efficient' },
      engine({ attention: 'efficient', transformerVariant: 'fused' }),
    ],
    [
      'attention math: unfused graph',
      { ZIMAGE_ATTENTION: 'math' },
      engine({
        attention: 'math',
        transformerVariant: 'unfused',
        transformerGraphRewrites: [],
        attentionKernel: 'UNFUSED_GRAPH',
      }),
    ],
    ['offload none: all resident', { ZIMAGE_OFFLOAD: 'none' }, engine({ offload: 'none' })],
    [
      'offload model: nothing resident between requests',
      { ZIMAGE_OFFLOAD: 'model' },
      engine({ offload: 'model', resident: [] }),
    ],
    [
      'offload cpu: encoder and decoder on the CPU EP, all resident',
      { ZIMAGE_OFFLOAD: 'cpu', ZIMAGE_STEPS: '4' },
      engine({ offload: 'cpu', steps: 4 }),
    ],
  ];

  it.each(rows)('%s', async (_name, env, expected) => {
    const runtime = await start(env);
    const before = await readyz(runtime);
    expect(before.status).toBe(200);
    expect(before.body.engine).toEqual(expected);

    const { body } = await generateOk(runtime, request);
    expect(body.steps).toBe(expected.steps);
    const png = decodePng(body.data[0]?.b64_json);
    expect([png.width, png.height]).toEqual([256, 256]);
    expect((await readyz(runtime)).body.engine).toEqual(expected);

    const m = await scrape(runtime);
    expect(m.all('zimage_config_info').map((s) => s.labels)).toEqual([
      {
        steps: String(expected.steps),
        offload: expected.offload,
        attention: expected.attention,
        ep: 'cpu',
        transformer: expected.transformerVariant,
        kernel: expected.attentionKernel,
        pacing: 'off',
      },
    ]);
    expect(m.byLabel('zimage_resident_sessions', 'component')).toEqual(
      Object.fromEntries(all.map((c) => [c, expected.resident.includes(c) ? 1 : 0])),
    );
  });
});

describe('what the modes cost and compute', () => {
  /** session_create_ms of `runs` identical requests. */
  async function sessionCreateMs(runtime: RuntimeProcess, runs: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < runs; i++) {
      const { body } = await generateOk(runtime, { ...request, size: '128x64' });
      out.push(...body.timings.images.map((t) => t.session_create_ms));
    }
    return out;
  }

  it('offload model creates the sessions inside every request; none does not', async () => {
    const resident = await sessionCreateMs(await start({ ZIMAGE_OFFLOAD: 'none' }), 3);
    await rt?.stop();
    const perCall = await sessionCreateMs(await start({ ZIMAGE_OFFLOAD: 'model' }), 3);
    expect(resident).toEqual([0, 0, 0]);
    // Three session creations (text encoder, transformer, VAE) inside every request: one
    // session_create_ms per image of the 3 requests, each above 0.
    expect(perCall).toHaveLength(3);
    for (const ms of perCall) expect(ms).toBeGreaterThan(0);
  });

  it('math (unfused) and flash (fused) graphs compute the same image within one level', async () => {
    const image = async (attention: string) => {
      const runtime = await start({ ZIMAGE_ATTENTION: attention });
      const { body } = await generateOk(runtime, request);
      await runtime.stop();
      return decodePng(body.data[0]?.b64_json).data;
    };
    const fused = await image('flash');
    const unfused = await image('math');
    expect(unfused.length).toBe(fused.length);
    let maxDiff = 0;
    for (let i = 0; i < fused.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs((fused[i] ?? 0) - (unfused[i] ?? 0)));
    }
    // Float rounding differs between the graphs (a few pixels off by one level at 256x256).
    expect(maxDiff).toBeLessThanOrEqual(2);
  });
});

function engine(overrides: Partial<NonNullable<ReadyBody['engine']>>) {
  return {
    ep: 'cpu',
    attention: 'flash',
    offload: 'none',
    steps: 9,
    transformerVariant: 'fused',
    // The fixture's zimage.json: the exporter's rewrites of the fused graph (tools/export).
    transformerGraphRewrites: ['simplified_layer_norm', 'rotary_embedding'],
    // ORT reports its kernel choice only on the CUDA EP; `math` names its graph.
    attentionKernel: 'UNREPORTED',
    resident: all,
    componentProviders: onCpu,
    ...overrides,
  };
}
