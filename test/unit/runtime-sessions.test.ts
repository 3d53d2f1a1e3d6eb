/**
 * Session configuration as data: the CUDA EP cannot run on our test hosts (its binaries come
 * from NuGet at image build time and need CUDA 12), so its path is tested as the options and
 * environment the runtime renders; placements per offload mode and attention backend likewise.
 */
import { describe, expect, it } from 'vitest';
import { attentionEnv, transformerVariant } from '../../src/contract/runtime.ts';
import { loadModelDir, type ModelDir } from '../../src/runtime/pipeline/model-dir.ts';
import {
  asEngineError,
  placements,
  sessionOptions,
  type SessionSettings,
} from '../../src/runtime/pipeline/sessions.ts';
import { tinyModelDir } from '../support/references.ts';

const model: ModelDir = await loadModelDir(tinyModelDir);
const settings = (over: Partial<SessionSettings> = {}): SessionSettings => ({
  executionProvider: 'cuda',
  attention: 'flash',
  precision: 'bf16',
  ...over,
});

describe('sessionOptions', () => {
  it.each([
    ['cuda', { name: 'cuda', deviceId: 0 }],
    ['webgpu', { name: 'webgpu', preferredLayout: 'NCHW' }],
  ] as const)('%s: CPU fallback disabled, the EP first', (ep, expected) => {
    const options = sessionOptions(ep, { intraOpThreads: 3 });
    expect(options.executionProviders).toEqual([expected]);
    expect(options.extra).toEqual({ session: { disable_cpu_ep_fallback: '1' } });
    expect(options.intraOpNumThreads).toBe(3);
    expect(options.graphOptimizationLevel).toBe('all');
  });

  it('cuda honours the device ordinal', () => {
    expect(sessionOptions('cuda', { deviceId: 3 }).executionProviders).toEqual([
      { name: 'cuda', deviceId: 3 },
    ]);
  });

  it('cpu: no fallback setting, no GPU EP', () => {
    const options = sessionOptions('cpu', {});
    expect(options.executionProviders).toEqual(['cpu']);
    expect(options.extra).toBeUndefined();
    expect(options.intraOpNumThreads).toBeGreaterThanOrEqual(1);
  });

  it('the diagnostics switch allows the fallback', () => {
    expect(sessionOptions('webgpu', { allowCpuFallback: true }).extra).toEqual({
      session: { disable_cpu_ep_fallback: '0' },
    });
  });
});

describe('attention backends on the CUDA EP', () => {
  it.each(Object.keys(attentionEnv) as (keyof typeof attentionEnv)[])(
    '%s: env switches and transformer graph',
    (attention) => {
      const env = attentionEnv[attention];
      const transformer = placements(model, settings({ attention }), 'none').find(
        (p) => p.component === 'transformer',
      );
      expect(transformer?.file).toContain(`transformer/${transformerVariant[attention]}.`);
      // Each backend disables the faster kernels before it.
      const disabled = ['ORT_DISABLE_FLASH_ATTENTION', 'ORT_DISABLE_MEMORY_EFFICIENT_ATTENTION'];
      const expected: Record<string, readonly string[]> = {
        flash: [],
        efficient: disabled.slice(0, 1),
        cudnn: disabled,
        math: disabled,
      };
      for (const name of disabled)
        expect(env[name], name).toBe(expected[attention]?.includes(name) ? '1' : '0');
      expect(env['ORT_ENABLE_CUDNN_FLASH_ATTENTION']).toBe(attention === 'cudnn' ? '1' : '0');
    },
  );
});

describe('placements per offload mode', () => {
  const providers = (offload: 'none' | 'model' | 'cpu', ep: 'cuda' | 'webgpu' | 'cpu' = 'cuda') =>
    Object.fromEntries(
      placements(model, settings({ executionProvider: ep }), offload).map((p) => [
        p.component,
        `${p.provider}/${p.precision}`,
      ]),
    );

  it.each([
    ['none', { text_encoder: 'cuda/fp32', transformer: 'cuda/fp32', vae_decoder: 'cuda/fp32' }],
    ['model', { text_encoder: 'cuda/fp32', transformer: 'cuda/fp32', vae_decoder: 'cuda/fp32' }],
    ['cpu', { text_encoder: 'cpu/fp32', transformer: 'cuda/fp32', vae_decoder: 'cpu/fp32' }],
  ] as const)(
    '%s (the tiny model has only fp32 files: bf16 falls back to them)',
    (offload, want) => {
      expect(providers(offload)).toEqual(want);
    },
  );

  it('a component without the wanted precision nor fp32 is a clear error', () => {
    const broken: ModelDir = {
      ...model,
      manifest: {
        ...model.manifest,
        files: { ...model.manifest.files, vae_decoder: { fp16: 'x.onnx' } },
      },
    };
    expect(() => placements(broken, settings(), 'none')).toThrow(
      'zimage.json: files.vae_decoder has neither bf16 nor fp32',
    );
  });
});

describe('error classification', () => {
  it.each([
    [
      'BFCArena::AllocateRawInternal Failed to allocate memory for requested buffer',
      'OUT_OF_MEMORY',
    ],
    ['std::bad_alloc', 'OUT_OF_MEMORY'],
    ['RangeError: Array buffer allocation failed', 'OUT_OF_MEMORY'],
    ['Non-zero status code returned while running MatMul node', 'INTERNAL'],
  ])('%s -> %s', (message, code) => {
    expect(asEngineError(new Error(message), 'transformer').code).toBe(code);
  });
});
