/**
 * The contract between the operator (which renders pods and the runtime ConfigMap) and the
 * runtime (which reads them). Both sides import these names; nothing here is spelled twice.
 *
 * What rolls pods and what does not: `steps` and `offload` live only in the runtime ConfigMap
 * (the runtime watches it), so changing them never restarts a pod. Attention backend,
 * execution provider, precision, image and model are start-up settings in the pod template
 * (env), so changing them rolls the Deployment.
 */
import { z } from 'zod';

export const executionProviders = ['cuda', 'webgpu', 'cpu'] as const;
export type ExecutionProvider = (typeof executionProviders)[number];

export const attentionBackends = ['flash', 'efficient', 'cudnn', 'math'] as const;
export type AttentionBackend = (typeof attentionBackends)[number];

/**
 * cuDNN flash attention: on an H200 (ORT 1.30, 2026-12-01) the only backend that runs in bf16 at
 * every size, and the fastest in both precisions (transformer at 1024^2, 30 layers: 183 ms bf16,
 * 178 ms fp16; flash 198 ms and efficient 231 ms in fp16; docs/performance.md). `flash` and
 * `efficient` fall back to ORT's unfused kernel in bf16, which breaks the CUDA context.
 */
export const defaultAttention: AttentionBackend = 'cudnn';

/** Offload levels, in the order the autoscaler steps through them under VRAM pressure. */
export const offloadModes = ['none', 'model', 'cpu'] as const;
export type OffloadMode = (typeof offloadModes)[number];

export const precisions = ['bf16', 'fp16'] as const;
export type Precision = (typeof precisions)[number];

/** Diffusion step bounds: the CRD, the ConfigMap and HTTP requests all use these. */
export const stepsRange = { min: 1, max: 50, default: 9 } as const;

/** Images one request may ask for (`n`): ZIMAGE_MAX_IMAGES_PER_REQUEST's bounds and default. */
export const imagesPerRequestRange = { min: 1, max: 16, default: 4 } as const;

/** The runtime's HTTP port (API, probes and /metrics). */
export const runtimePort = 8080;
export const runtimePortName = 'http';

/** Probe and API paths. */
export const runtimePaths = {
  generate: '/v1/images/generations',
  healthz: '/healthz',
  readyz: '/readyz',
  metrics: '/metrics',
} as const;

/** Where the pod mounts things. The root filesystem is read-only; these are the writable ones. */
export const mountPaths = {
  model: '/models',
  tmp: '/tmp',
  cache: '/var/cache/zimage',
} as const;

/** Non-root user and group the runtime image runs as (distroless "nonroot"). */
export const runtimeUid = 65532;

/** Key of the live config document inside the runtime ConfigMap. */
export const liveConfigKey = 'config.json';

/** Environment variables the operator sets on the runtime container. */
export const runtimeEnv = {
  /** Name of the runtime ConfigMap the pod watches for live config. */
  configMap: 'ZIMAGE_CONFIG_MAP',
  /** Pod namespace (downward API): where the ConfigMap lives. */
  namespace: 'ZIMAGE_NAMESPACE',
  podName: 'ZIMAGE_POD_NAME',
  modelDir: 'ZIMAGE_MODEL_DIR',
  executionProvider: 'ZIMAGE_EXECUTION_PROVIDER',
  attention: 'ZIMAGE_ATTENTION',
  precision: 'ZIMAGE_PRECISION',
  maxResolution: 'ZIMAGE_MAX_RESOLUTION',
  /** Largest `n` of a request; the router in front of the pods reads the same. */
  maxImagesPerRequest: 'ZIMAGE_MAX_IMAGES_PER_REQUEST',
  maxQueue: 'ZIMAGE_MAX_QUEUE',
  requestTimeoutSeconds: 'ZIMAGE_REQUEST_TIMEOUT_SECONDS',
  /** Start-up values of the live settings, used until the ConfigMap is read. */
  steps: 'ZIMAGE_STEPS',
  offload: 'ZIMAGE_OFFLOAD',
  port: 'ZIMAGE_PORT',
  /**
   * Memory of the pod's GPU (spec.gpu.memoryGiB): the VRAM budget a request must fit under the
   * card model, refused with 422 otherwise. A MIG slice has less than its card, hence its own
   * variable rather than only a card name.
   */
  gpuMemoryGiB: 'ZIMAGE_GPU_MEMORY_GIB',
} as const;

/**
 * Set by the local fleet (dev/), never by the operator or the manifests in deploy/: the runtime
 * there runs the tiny model on the CPU and stands in for a GPU pod through the card model.
 */
export const fleetEnv = {
  /** The card the pod models (an id of src/contract/card.ts): VRAM budget and stage times. */
  gpuCard: 'ZIMAGE_GPU_CARD',
  /**
   * "true": hold every stage for the card model's time of the real model on that card, so
   * that N pods serve N times the rate of one, as N GPUs would. Off by default.
   */
  pacing: 'ZIMAGE_PACING',
} as const;

/** Response headers of the generation API. */
export const runtimeHeaders = {
  /** The pod that served the request (ZIMAGE_POD_NAME), when it is set. */
  pod: 'x-zimage-pod',
  /**
   * Engine ms of the request's images (all of them), and of their denoising, and the steps
   * they ran: the router learns each pod's rates from these without parsing the body.
   */
  imageMs: 'x-zimage-image-ms',
  denoiseMs: 'x-zimage-denoise-ms',
  steps: 'x-zimage-steps',
  /**
   * Expected ms of the work the pod still holds when it answers (queued and running, from
   * every sender): the router's view of what other routers and direct clients gave the pod.
   */
  backlogMs: 'x-zimage-backlog-ms',
} as const;

/**
 * ONNX Runtime's CUDA EP picks its attention kernel from process environment switches (the
 * Node binding has no sdpa_kernel option). What they select, from ORT's own kernel report on an
 * H200 (ORT 1.30, 64 / 1056 / 4608 tokens, bench/gpu/results/h200-2026-12-01):
 *
 * | backend   | fp16                | bf16                                                   |
 * |-----------|---------------------|--------------------------------------------------------|
 * | cudnn     | CUDNN_FLASH_ATTENTION | CUDNN_FLASH_ATTENTION                                |
 * | flash     | FLASH_ATTENTION     | MATH (unfused), then CUBLAS failure 13 at 1056 tokens  |
 * | efficient | EFFICIENT_ATTENTION | MATH (unfused), then CUBLAS failure 13 at 1056 tokens  |
 * | (unset)   | CUDNN_FLASH_ATTENTION | CUDNN_FLASH_ATTENTION: unset is not off on sm90      |
 *
 * Every switch is therefore written explicitly; `flash` leaves no fallback to the memory-efficient
 * kernel (it would run silently, 6x slower), and the runtime's start-up probe
 * (src/runtime/pipeline/attention.ts) refuses a backend whose kernel ORT does not run. The
 * TensorRT fused kernels are off so that small sequences (the 64x64 warm-up: 48 tokens) run the
 * same kernel as large ones. `math` selects the unfused-attention transformer export (plain
 * MatMul/Softmax, which ran in both precisions at 4608 tokens), so the switch is real on every EP.
 */
const trtOff = {
  ORT_DISABLE_FUSED_ATTENTION: '1',
  ORT_DISABLE_FUSED_CROSS_ATTENTION: '1',
  ORT_DISABLE_TRT_FLASH_ATTENTION: '1',
} as const;
export const attentionEnv: Record<AttentionBackend, Record<string, string>> = {
  flash: {
    ORT_DISABLE_FLASH_ATTENTION: '0',
    ORT_DISABLE_MEMORY_EFFICIENT_ATTENTION: '1',
    ORT_ENABLE_CUDNN_FLASH_ATTENTION: '0',
    ...trtOff,
  },
  efficient: {
    ORT_DISABLE_FLASH_ATTENTION: '1',
    ORT_DISABLE_MEMORY_EFFICIENT_ATTENTION: '0',
    ORT_ENABLE_CUDNN_FLASH_ATTENTION: '0',
    ...trtOff,
  },
  cudnn: {
    ORT_DISABLE_FLASH_ATTENTION: '1',
    ORT_DISABLE_MEMORY_EFFICIENT_ATTENTION: '1',
    ORT_ENABLE_CUDNN_FLASH_ATTENTION: '1',
    ...trtOff,
  },
  math: {
    ORT_DISABLE_FLASH_ATTENTION: '1',
    ORT_DISABLE_MEMORY_EFFICIENT_ATTENTION: '1',
    ORT_ENABLE_CUDNN_FLASH_ATTENTION: '0',
    ...trtOff,
  },
};

/**
 * The kernel each backend must run, in ORT's own names (its ORT_ENABLE_ATTENTION_KERNEL_DEBUG_INFO
 * report). On the CUDA EP the runtime probes the kernel at start-up and refuses to start when ORT
 * would run another one (e.g. a fallback to its unfused path, which breaks at large sizes).
 */
export const attentionKernels: Record<AttentionBackend, string> = {
  flash: 'FLASH_ATTENTION',
  efficient: 'EFFICIENT_ATTENTION',
  cudnn: 'CUDNN_FLASH_ATTENTION',
  math: 'UNFUSED_GRAPH',
};
/** Reported where ORT says nothing about its choice (CPU and WebGPU EPs). */
export const unreportedKernel = 'UNREPORTED';

/**
 * Tokens the transformer attends over at a size: image tokens (16x16 pixels each: VAE 8x, patch
 * 2x) plus the caption at its 512-token maximum. 1024x1024 -> 4096 + 512 = 4608.
 */
export function attentionTokens(width: number, height: number, captionTokens = 512): number {
  return Math.ceil(width / 16) * Math.ceil(height / 16) + captionTokens;
}

/**
 * GPU memory of the unfused graph's score scratch for one attention call: heads x S^2 scores
 * in the graph's precision (2 bytes), their fp32 softmax (4) and the probabilities cast back (2).
 * 30 heads at 4608 tokens: 5.1 GB (PyTorch's math SDPA took 5.7 GiB there, H200).
 */
export function unfusedScratchBytes(heads: number, tokens: number): number {
  return heads * tokens * tokens * 8;
}

/** Transformer graph file per backend: fused MultiHeadAttention, or the unfused export. */
export const transformerVariant: Record<AttentionBackend, 'fused' | 'unfused'> = {
  flash: 'fused',
  efficient: 'fused',
  cudnn: 'fused',
  math: 'unfused',
};

/** The live part of the runtime config: the ConfigMap's `config.json`. */
export const liveConfigSchema = z
  .object({
    steps: z.number().int().min(stepsRange.min).max(stepsRange.max),
    offload: z.enum(offloadModes),
  })
  .strict();
export type LiveConfig = z.infer<typeof liveConfigSchema>;
