/**
 * The attention-kernel check without a GPU: ORT's kernel report as the H200 printed it (colour
 * codes included), the start-up decision per backend, precision and size with a fake probe, and
 * the probe child itself on the CPU EP (real ORT, the generated MultiHeadAttention graph).
 */
import { describe, expect, it } from 'vitest';
import {
  attentionTokens,
  unfusedScratchBytes,
  type AttentionBackend,
  type ExecutionProvider,
  type Precision,
} from '../../src/contract/runtime.ts';
import { EngineError } from '../../src/runtime/engine.ts';
import { mathTokenLimit, resolveAttentionKernel } from '../../src/runtime/pipeline/attention.ts';
import {
  attributeReports,
  parseKernelReports,
  runKernelProbe,
  type ProbeRequest,
  type ProbeResult,
} from '../../src/runtime/pipeline/kernel-probe.ts';
import { loadModelDir } from '../../src/runtime/pipeline/model-dir.ts';
import { tinyModelDir } from '../support/references.ts';

const esc = String.fromCharCode(27);
/** A line as ORT 1.30's logger wrote it to stderr on the H200. */
const orLine = (kernel: string, type = 'bf16') =>
  `${esc}[0;93m2026-12-01 09:14:03.1 [I:onnxruntime:, attention_kernel_options.cc:72] Operator=MultiHeadAttention Node=MultiHeadAttention_3 DataType=${type} SdpaKernel=${kernel}${esc}[0m`;

describe("ORT's kernel report", () => {
  it('reads the kernel, stripping the colour codes', () => {
    expect(parseKernelReports(`noise\n${orLine('CUDNN_FLASH_ATTENTION')}\n`)).toEqual([
      { operator: 'MultiHeadAttention', dataType: 'bf16', kernel: 'CUDNN_FLASH_ATTENTION' },
    ]);
  });

  it("attributes lines to the probe's cases by their markers", () => {
    const text = [
      'ZPROBE begin 1x48',
      orLine('MATH'),
      'ZPROBE end 1x48 NaN',
      'ZPROBE begin 1x4608',
      orLine('EFFICIENT_ATTENTION'),
      orLine('EFFICIENT_ATTENTION'),
      'ZPROBE end 1x4608 1.5',
      orLine('FLASH_ATTENTION'), // after the last marker: belongs to no case
    ].join('\n');
    expect(Object.fromEntries(attributeReports(text))).toEqual({
      '1x48': ['MATH'],
      '1x4608': ['EFFICIENT_ATTENTION', 'EFFICIENT_ATTENTION'],
    });
  });
});

describe('sizes and scratch', () => {
  it.each([
    ['1024x1024: 4096 image tokens + a 512-token caption', 1024, 1024, 4608],
    ['512x512', 512, 512, 1536],
    ['2048x2048', 2048, 2048, 16896],
  ])('%s', (_name, w, h, tokens) => {
    expect(attentionTokens(w, h)).toBe(tokens);
  });

  it('unfused scratch at 1024^2, 30 heads: 5.1 GB (quadratic: 4x the tokens, 16x the bytes)', () => {
    expect(unfusedScratchBytes(30, 4608) / 1e9).toBeCloseTo(5.1, 1);
    expect(unfusedScratchBytes(30, 4 * 4608)).toBe(16 * unfusedScratchBytes(30, 4608));
  });
});

const model = await loadModelDir(tinyModelDir);
const probeReporting =
  (...kernels: string[]) =>
  (request: ProbeRequest): Promise<ProbeResult> =>
    Promise.resolve({
      cases: request.tokens.map((tokens, i) => ({
        chain: 1,
        tokens,
        kernels: kernels[i] ? [kernels[i]] : [],
      })),
      exitCode: kernels.length >= request.tokens.length ? 0 : 1,
      tail: 'CUBLAS failure 13: the function failed to launch on the GPU',
    });
const noProbe = () => Promise.reject(new Error('the probe must not run here'));

async function resolve(
  attention: AttentionBackend,
  precision: Precision,
  ep: ExecutionProvider,
  probe: (r: ProbeRequest) => Promise<ProbeResult>,
  maxSize = { width: 1024, height: 1024 },
) {
  return resolveAttentionKernel({
    model,
    settings: { executionProvider: ep, attention, precision },
    maxSize,
    probe,
  });
}

describe('the start-up decision', () => {
  // [name, attention, precision, EP, probe, kernel reported]
  const accepted: [
    string,
    AttentionBackend,
    Precision,
    ExecutionProvider,
    ReturnType<typeof probeReporting> | typeof noProbe,
    string,
  ][] = [
    [
      'cudnn bf16 on CUDA: the probe saw cuDNN flash at both sizes',
      'cudnn',
      'bf16',
      'cuda',
      probeReporting('CUDNN_FLASH_ATTENTION', 'CUDNN_FLASH_ATTENTION'),
      'CUDNN_FLASH_ATTENTION',
    ],
    [
      'flash fp16 on CUDA',
      'flash',
      'fp16',
      'cuda',
      probeReporting('FLASH_ATTENTION', 'FLASH_ATTENTION'),
      'FLASH_ATTENTION',
    ],
    [
      'math on CUDA at 1024^2: the unfused graph, no probe',
      'math',
      'bf16',
      'cuda',
      noProbe,
      'UNFUSED_GRAPH',
    ],
    ['the CPU EP reports nothing and is not probed', 'cudnn', 'bf16', 'cpu', noProbe, 'UNREPORTED'],
    ['WebGPU likewise', 'flash', 'fp16', 'webgpu', noProbe, 'UNREPORTED'],
  ];
  it.each(accepted)('%s', async (_name, attention, precision, ep, probe, kernel) => {
    expect(await resolve(attention, precision, ep, probe)).toBe(kernel);
  });

  // [name, attention, precision, probe, max size, message pattern]
  const refused: [
    string,
    AttentionBackend,
    Precision,
    ReturnType<typeof probeReporting> | typeof noProbe,
    { width: number; height: number },
    RegExp,
  ][] = [
    [
      'flash bf16: ORT falls back to its unfused kernel (H200)',
      'flash',
      'bf16',
      probeReporting('MATH'),
      { width: 1024, height: 1024 },
      /ZIMAGE_ATTENTION=flash would run ORT's MATH kernel in bf16.*use ZIMAGE_ATTENTION=cudnn/,
    ],
    [
      'efficient bf16 likewise, at the small size',
      'efficient',
      'bf16',
      probeReporting('MATH', 'EFFICIENT_ATTENTION'),
      { width: 1024, height: 1024 },
      /efficient would run ORT's MATH kernel.*memory-efficient/,
    ],
    [
      'a kernel other than the named one at the large size',
      'cudnn',
      'fp16',
      probeReporting('CUDNN_FLASH_ATTENTION', 'EFFICIENT_ATTENTION'),
      { width: 1024, height: 1024 },
      /would run ORT's EFFICIENT_ATTENTION kernel in fp16.*not CUDNN_FLASH_ATTENTION/,
    ],
    [
      'the probe crashed without a report',
      'cudnn',
      'bf16',
      probeReporting(),
      { width: 1024, height: 1024 },
      /attention probe for ZIMAGE_ATTENTION=cudnn \(bf16, 4608 tokens\) failed \(exit 1, no kernel report\): CUBLAS failure 13/,
    ],
    [
      'math above 1024^2 on a GPU: quadratic scratch',
      'math',
      'fp16',
      noProbe,
      { width: 2048, height: 2048 },
      /ZIMAGE_ATTENTION=math cannot serve ZIMAGE_MAX_RESOLUTION=2048x2048 on a GPU: 16896 tokens need 4\.6 GB/,
    ], // the tiny model has 2 heads
  ];
  it.each(refused)('%s', async (_name, attention, precision, probe, maxSize, message) => {
    const err = await resolve(attention, precision, 'cuda', probe, maxSize).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EngineError);
    expect((err as Error).message).toMatch(message);
  });

  it('math on the CPU EP has no size limit (host memory, no CUDA context to break)', async () => {
    expect(await resolve('math', 'fp16', 'cpu', noProbe, { width: 2048, height: 2048 })).toBe(
      'UNFUSED_GRAPH',
    );
    expect(mathTokenLimit).toBe(4608);
  });

  it('the probe runs at the warm-up size and the largest size', async () => {
    const seen: ProbeRequest[] = [];
    await resolve('cudnn', 'bf16', 'cuda', (r) => {
      seen.push(r);
      return probeReporting('CUDNN_FLASH_ATTENTION', 'CUDNN_FLASH_ATTENTION')(r);
    });
    expect(seen.map((r) => [r.tokens, r.heads, r.headDim, r.precision])).toEqual([
      [[48, 4608], model.manifest.transformer.heads, model.manifest.transformer.head_dim, 'bf16'],
    ]);
  });
});

describe('the probe child on the CPU EP (real ORT, generated graph)', () => {
  it('runs each chain and size between its markers and times the repeats', async () => {
    const result = await runKernelProbe({
      heads: 2,
      headDim: 8,
      precision: 'fp16',
      tokens: [8, 16],
      chains: [1, 3],
      repeats: 2,
      ep: 'cpu',
    });
    expect(result.exitCode).toBe(0);
    expect(result.cases.map((c) => `${c.chain}x${c.tokens}`)).toEqual([
      '1x8',
      '1x16',
      '3x8',
      '3x16',
    ]);
    for (const c of result.cases) {
      expect(c.medianMs).toBeGreaterThan(0);
      expect(c.kernels).toEqual([]); // the CPU EP prints no kernel report
    }
  });

  it('a graph ORT cannot run on that EP fails with its message (bf16 MultiHeadAttention on the CPU)', async () => {
    const result = await runKernelProbe({
      heads: 2,
      headDim: 8,
      precision: 'bf16',
      tokens: [8],
      ep: 'cpu',
    });
    expect(result.exitCode).not.toBe(0);
    expect(result.tail).toMatch(/Could not find an implementation for MultiHeadAttention/);
  });
});
