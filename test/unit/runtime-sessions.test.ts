/**
 * Session configuration as data: the CUDA EP cannot run on our test hosts (no GPU; it ran on an
 * H200 through bench/gpu/cuda-bench.ts), so its path is tested as the options and environment
 * the runtime renders; placements per offload mode and attention backend likewise.
 */
import { describe, expect, it } from 'vitest';
import {
  attentionBackends,
  attentionEnv,
  transformerVariant,
  type AttentionBackend,
} from '../../src/contract/runtime.ts';
import { loadModelDir, type ModelDir } from '../../src/runtime/pipeline/model-dir.ts';
import {
  asEngineError,
  filePrecision,
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
  // The switches per backend, as the H200 kernel report demands (src/contract/runtime.ts): each
  // backend enables only its own kernel, so ORT can never fall back silently; the TensorRT fused
  // kernels are off for all, so the 48-token warm-up runs the same kernel as 1024^2.
  const rows: [string, AttentionBackend, Record<string, string>][] = [
    ['flash: ORT flash only', 'flash', { FLASH: '0', MEMORY_EFFICIENT: '1', CUDNN: '0' }],
    ['efficient: cutlass only', 'efficient', { FLASH: '1', MEMORY_EFFICIENT: '0', CUDNN: '0' }],
    ['cudnn: cuDNN flash only', 'cudnn', { FLASH: '1', MEMORY_EFFICIENT: '1', CUDNN: '1' }],
    ['math: every fused kernel off', 'math', { FLASH: '1', MEMORY_EFFICIENT: '1', CUDNN: '0' }],
  ];
  it.each(rows)('%s', (_name, attention, want) => {
    const env = attentionEnv[attention];
    expect({
      FLASH: env['ORT_DISABLE_FLASH_ATTENTION'],
      MEMORY_EFFICIENT: env['ORT_DISABLE_MEMORY_EFFICIENT_ATTENTION'],
      CUDNN: env['ORT_ENABLE_CUDNN_FLASH_ATTENTION'],
    }).toEqual(want);
    for (const trt of [
      'ORT_DISABLE_FUSED_ATTENTION',
      'ORT_DISABLE_FUSED_CROSS_ATTENTION',
      'ORT_DISABLE_TRT_FLASH_ATTENTION',
    ])
      expect(env[trt], trt).toBe('1');
    const transformer = placements(model, settings({ attention }), 'none').find(
      (p) => p.component === 'transformer',
    );
    expect(transformer?.file).toContain(`transformer/${transformerVariant[attention]}.`);
  });

  it('every backend is in the table (no switch left unset: unset is not off)', () => {
    expect(Object.keys(attentionEnv).sort()).toEqual([...attentionBackends].sort());
  });
});

describe('file precision per component', () => {
  it.each([
    ['bf16 transformer on the GPU', 'transformer', 'cuda', 'bf16', 'bf16'],
    ['bf16 text encoder on the GPU', 'text_encoder', 'cuda', 'bf16', 'bf16'],
    [
      'bf16 VAE on the GPU takes fp16 (Conv has no bf16 before opset 22)',
      'vae_decoder',
      'cuda',
      'bf16',
      'fp16',
    ],
    ['fp16 VAE on the GPU', 'vae_decoder', 'webgpu', 'fp16', 'fp16'],
    ['anything on the CPU EP takes fp32', 'vae_decoder', 'cpu', 'bf16', 'fp32'],
  ] as const)('%s', (_name, component, provider, precision, want) => {
    expect(filePrecision(component, provider, precision)).toBe(want);
  });
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
        files: { ...model.manifest.files, text_encoder: { fp16: 'x.onnx' } },
      },
    };
    expect(() => placements(broken, settings(), 'none')).toThrow(
      'zimage.json: files.text_encoder has neither bf16 nor fp32',
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
    // As ORT 1.30 reported them on an H200 (2026-12-01):
    [
      "Non-zero status code returned while running MultiHeadAttention node. Name:'MultiHeadAttention_3' Status Message: CUBLAS failure 13: the function failed to launch on the GPU ; GPU=0",
      'GPU_FAILED',
    ],
    ['CUDA failure 700: an illegal memory access was encountered ; GPU=0', 'GPU_FAILED'],
    [
      'CUDA failure 2: out of memory ; GPU=0 ; expr=cudaSetDevice(info_.device_id);',
      'OUT_OF_MEMORY',
    ],
    ['CUBLAS failure 3: CUBLAS_STATUS_ALLOC_FAILED', 'OUT_OF_MEMORY'],
    // After an out-of-memory failure and recreated sessions, with a ballast holding the rest of
    // the H200 (second run, 2026-12-01): every request then failed with 500 as INTERNAL.
    [
      'VAE decoder: /onnxruntime_src/onnxruntime/core/providers/cuda/cuda_call.cc:146 std::conditional_t<THRW, void, onnxruntime::common::Status> onnxruntime::CudaCall(ERRTYPE, const char*, const char*, SUCCTYPE, const char*, const char*, int) [with ERRTYPE = cublasStatus_t; bool THRW = true; SUCCTYPE = cublasStatus_t; std::conditional_t<THRW, void, common::Status> = void] CUBLAS failure 3: the resource allocation failed ; GPU=0 ; hostname=vm ; file=/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_stream_handle.cc ; line=79 ; expr=cublasCreate(&cublas_handle_); ',
      'OUT_OF_MEMORY',
    ],
    [
      'Exception during initialization: CUDNN failure 4000: CUDNN_STATUS_INTERNAL_ERROR ; GPU=0 ; hostname=vm ; file=/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_execution_provider.cc ; line=247 ; expr=cudnnCreate(&cudnn_handle_); ',
      'OUT_OF_MEMORY',
    ],
    ['CUDNN failure 4000: CUDNN_STATUS_INTERNAL_ERROR ; expr=cudnnConvolutionForward(', 'INTERNAL'],
    ['CUBLAS failure 13: the function failed to launch on the GPU', 'GPU_FAILED'],
    ['Non-zero status code returned while running MatMul node', 'INTERNAL'],
  ])('%s -> %s', (message, code) => {
    expect(asEngineError(new Error(message), 'transformer').code).toBe(code);
  });
});
