/**
 * The variants cuda-bench.ts measures, as data: ORT attention settings for the kernel check
 * (the contract's table, ORT's own choice and the table before issue 11), and the pipeline
 * cases over HTTP.
 */
import {
  attentionEnv,
  type AttentionBackend,
  type OffloadMode,
  type Precision,
} from '../../src/contract/runtime.ts';

export interface EnvConfig {
  name: string;
  /** The contract backend it stands for, when it is one. */
  backend?: AttentionBackend;
  env: Record<string, string>;
}

export const envConfigs: EnvConfig[] = [
  { name: 'cudnn', backend: 'cudnn', env: attentionEnv.cudnn },
  { name: 'flash', backend: 'flash', env: attentionEnv.flash },
  { name: 'efficient', backend: 'efficient', env: attentionEnv.efficient },
  // ORT's own choice: every switch unset.
  { name: 'auto', env: {} },
  // The contract's table before this change (memory-efficient left on under flash, TRT on).
  {
    name: 'old-flash',
    env: {
      ORT_DISABLE_FLASH_ATTENTION: '0',
      ORT_DISABLE_MEMORY_EFFICIENT_ATTENTION: '0',
      ORT_ENABLE_CUDNN_FLASH_ATTENTION: '0',
    },
  },
  // Every fused kernel off: MultiHeadAttention's own unfused path (the README's crash).
  { name: 'mha-unfused', env: attentionEnv.math },
];

export const probeTokens = [64, 1056, 4608]; // warm-up size, 512x512, 1024x1024 (+ caption)

export interface HttpCase {
  name: string;
  /**
   * Which model directory: the N-layer one (its fused transformer as the exporter writes it, with
   * tools/export/fuse_graph.py's norm and RoPE rewrites), the 2-layer one (which has the unfused
   * graph), or the N-layer one whose fused transformer is the plain export (no rewrites).
   */
  model: 'big' | 'small' | 'plain';
  precision: Precision;
  attention: AttentionBackend;
  offload: OffloadMode;
  requests: number;
  /** The runtime is expected to refuse to start (the point of the case). */
  expectRefusal?: boolean;
  /** Ballast leaving the resident weights + this many MiB: the generation's own OOM path. */
  squeezeMiB?: number;
}

const base = { attention: 'cudnn' as const, precision: 'bf16' as const };

/** The pipeline over HTTP, most wanted first (bf16 did not start in the first H200 run). */
export const httpCases: HttpCase[] = [
  { ...base, name: 'bf16 cudnn none', model: 'big', offload: 'none', requests: 3 },
  { ...base, name: 'bf16 cudnn model', model: 'big', offload: 'model', requests: 2 },
  { ...base, name: 'bf16 cudnn none, plain export', model: 'plain', offload: 'none', requests: 3 },
  {
    ...base,
    name: 'fp16 cudnn none',
    model: 'big',
    precision: 'fp16',
    offload: 'none',
    requests: 2,
  },
  {
    ...base,
    name: 'fp16 cudnn none, plain export',
    model: 'plain',
    precision: 'fp16',
    offload: 'none',
    requests: 3,
  },
];

/** Run after the 16 GB cases: the refusal and the unfused graph. */
export const extraCases: HttpCase[] = [
  {
    ...base,
    name: 'bf16 flash none (refused)',
    model: 'big',
    attention: 'flash',
    offload: 'none',
    requests: 1,
    expectRefusal: true,
  },
  {
    ...base,
    name: 'bf16 math none (2 layers)',
    model: 'small',
    attention: 'math',
    offload: 'none',
    requests: 2,
  },
];

/**
 * The 16 GB card: these configurations, each with a ballast that leaves 16 GiB minus the weights
 * the exported model lacks (the ballast's own CUDA context, about 0.5 GiB, comes out of the
 * 16 GiB too, as a real card's reserved memory would).
 */
export const card16Cases: HttpCase[] = [
  ...(['none', 'model', 'cpu'] as const).map((offload) => ({
    ...base,
    name: `16GB bf16 cudnn ${offload}`,
    model: 'big' as const,
    offload,
    requests: offload === 'cpu' ? 1 : 2, // cpu: ~21 s per image (text encoder and VAE on the CPU)
  })),
  // Room for the weights and the CUDA context but not for 1024^2 activations: what a request
  // that does not fit does to the runtime (503 out_of_memory, recovering, restarts, exit). Two
  // margins: the smaller one may already fail at start-up (ORT's arena grows in powers of two).
  ...[1536, 3072].map((squeezeMiB) => ({
    ...base,
    name: `squeeze ${squeezeMiB} bf16 cudnn none`,
    model: 'big' as const,
    offload: 'none' as const,
    requests: 4,
    squeezeMiB,
  })),
];
