/**
 * Which attention kernel the transformer will run, decided before its sessions exist:
 * - `math` (the unfused graph) is refused on GPUs above the size where its quadratic scratch
 *   is known to break or not to fit (mathTokenLimit);
 * - a fused backend on the CUDA EP is probed in a child process (kernel-probe.ts) at the
 *   largest size the server accepts, and start-up fails when ORT would run any other kernel
 *   than the one the backend names.
 */
import {
  attentionKernels,
  attentionTokens,
  transformerVariant,
  unfusedScratchBytes,
  unreportedKernel,
  type AttentionBackend,
  type Precision,
} from '../../contract/runtime.ts';
import { formatSize, type Size } from '../../contract/size.ts';
import { EngineError } from '../engine.ts';
import { runKernelProbe, type ProbeRequest, type ProbeResult } from './kernel-probe.ts';
import type { ModelDir } from './model-dir.ts';
import type { SessionSettings } from './sessions.ts';

/**
 * The largest attention sequence the unfused graph may run on a GPU: 1024x1024 with a full
 * caption (4608 tokens, 5.1 GB of score scratch at 30 heads). Above it the scratch grows with the
 * square (2048x2048: 16896 tokens, 69 GB), and ORT 1.30's unfused attention broke the CUDA
 * context at 16384 tokens on an H200 (measured on an H200: docs/performance.md).
 */
export const mathTokenLimit = attentionTokens(1024, 1024);

/** The probe's small size: a 64x64 image (16 tokens) and a short caption (32), as the warm-up. */
export const probeMinTokens = 48;

/** Fixes that a refusal suggests, per backend and precision. */
function hint(attention: AttentionBackend, precision: Precision): string {
  if (attention !== 'cudnn' && precision === 'bf16')
    return `ORT's ${attention === 'flash' ? 'flash' : 'memory-efficient'} kernel is not used for bf16 here (its unfused fallback broke the CUDA context on an H200); use ZIMAGE_ATTENTION=cudnn (cuDNN flash attention) or ZIMAGE_PRECISION=fp16`;
  return 'use ZIMAGE_ATTENTION=cudnn, the kernel that ran on every measured card (docs/performance.md)';
}

export interface AttentionCheck {
  model: ModelDir;
  settings: SessionSettings;
  /** The largest request size (ZIMAGE_MAX_RESOLUTION). */
  maxSize: Size;
  /** Injected by tests; the real one spawns kernel-probe-main.ts. */
  probe?: (request: ProbeRequest) => Promise<ProbeResult>;
}

/** Resolves the kernel name for EngineInfo.attentionKernel, or throws a start-up error. */
export async function resolveAttentionKernel(check: AttentionCheck): Promise<string> {
  const { settings, maxSize } = check;
  const t = check.model.manifest.transformer;
  const tokens = attentionTokens(maxSize.width, maxSize.height);
  const backend = settings.attention;
  if (transformerVariant[backend] === 'unfused') {
    if (settings.executionProvider !== 'cpu' && tokens > mathTokenLimit) {
      const gb = (unfusedScratchBytes(t.heads, tokens) / 1e9).toFixed(1);
      throw new EngineError(
        'INTERNAL',
        `ZIMAGE_ATTENTION=math cannot serve ZIMAGE_MAX_RESOLUTION=${formatSize(maxSize)} on a GPU: ` +
          `${tokens} tokens need ${gb} GB of attention scratch per call (at most ${mathTokenLimit} tokens, 1024x1024); ` +
          'lower the max resolution or use a fused backend (cudnn)',
      );
    }
    return attentionKernels.math;
  }
  if (settings.executionProvider !== 'cuda') return unreportedKernel;
  const request: ProbeRequest = {
    heads: t.heads,
    headDim: t.head_dim,
    precision: settings.precision,
    // Smallest first: ORT 1.30 picked its unfused kernel for bf16 at small sizes even where the
    // memory-efficient one was allowed (H200), and that kernel then broke the CUDA context.
    tokens: [probeMinTokens, tokens],
    ...(settings.deviceId === undefined ? {} : { deviceId: settings.deviceId }),
  };
  const result = await (check.probe ?? runKernelProbe)(request);
  const wanted = attentionKernels[backend];
  const kernel =
    result.cases.map((c) => c.kernels[0]).find((k) => k !== wanted) ?? result.cases[0]?.kernels[0];
  if (kernel && kernel !== wanted)
    throw new EngineError(
      'INTERNAL',
      `ZIMAGE_ATTENTION=${backend} would run ORT's ${kernel} kernel in ${settings.precision} on this GPU, not ${wanted}: ${hint(backend, settings.precision)}`,
    );
  if (result.exitCode !== 0 || !kernel)
    throw new EngineError(
      'INTERNAL',
      `attention probe for ZIMAGE_ATTENTION=${backend} (${settings.precision}, ${tokens} tokens) failed ` +
        `(exit ${String(result.exitCode)}${kernel ? '' : ', no kernel report'}): ${result.tail.slice(-800)}`,
    );
  return kernel;
}
