/**
 * A model of Z-Image-Turbo on one GPU card: VRAM of weights and activations, and seconds per
 * stage, for a resolution, steps, precision, offload mode and attention setting. Pure data
 * and arithmetic, shared by the runtime (refusing what cannot fit, pacing in the local fleet)
 * and the local fleet's dcgm-exporter stand-in (memory).
 *
 * Every figure says where it comes from. The H-class times and the memory of the transformer
 * and VAE are measured: ORT 1.30's CUDA EP through this runtime on an NVIDIA H200, 2026-12-01
 * (docs/performance.md, "Runtime on the CUDA EP"; bench/gpu/results/h200-2026-12-01-2 and
 * -3). The RTX 4090's compute is fitted to the seed's table (the seed article, diffusers on a
 * 4090: flash 13-14 GB and 8-10 s at 1024^2, SDPA 18+ GB OOM, offload 12-15 s). What is still
 * an estimate says so. Sizes are in bytes (GB = 1e9), times in seconds.
 *
 * Two of the seed's rows do not carry over: its "+ CPU offload: 6-8 GB" is below the
 * transformer's own 12.3 GB of bf16 weights, so it must be diffusers' sequential offload
 * (weights streamed layer by layer), which the runtime has no mode for; and with no offload
 * the text encoder and transformer alone take 20.4 GB, so on the 16 GB budget 1024^2 fits
 * only with `model` or `cpu` offload (a real 24 GB 4090 holds all of it, as the seed ran).
 */
import type { AttentionBackend, OffloadMode, Precision } from './runtime.ts';

const GB = 1e9;
const MiB = 2 ** 20;
const GiB = 2 ** 30;

/**
 * `offload: model` re-created the three sessions in 1.9 s for 4.0 GB of weights on the H200
 * host (2.1 GB/s, bench/gpu/results/h200-2026-12-01-2 a/): for the real 20.4 GB, 9.7 s per image.
 */
const sessionBytesPerSecond = 2.1 * GB;

export const cardIds = ['rtx4090-16gb', 'h100-80gb', 'h200-141gb', 'rtx4090-24gb'] as const;
export type CardId = (typeof cardIds)[number];

export interface Card {
  id: CardId;
  /** dcgm-exporter's `modelName` label (the driver's name). */
  modelName: string;
  /** GPU Feature Discovery's `nvidia.com/gpu.product` node label. */
  product: string;
  /** Framebuffer size (dcgm reports FB_USED + FB_FREE = this, in MiB). */
  memoryBytes: number;
  /** Dense bf16 tensor throughput relative to the H100/H200 (datasheets). */
  computeVsH200: number;
  /**
   * Weight bytes per second when `offload: model` re-creates the sessions for each request:
   * ORT's session creation (graph transforms, initializers to the device), not the PCIe link.
   */
  uploadBytesPerSecond: number;
  /** Board power at idle and at full load (DCGM_FI_DEV_POWER_USAGE). */
  idleWatts: number;
  maxWatts: number;
}

export const cards: Record<CardId, Card> = {
  'rtx4090-16gb': {
    id: 'rtx4090-16gb',
    modelName: 'NVIDIA GeForce RTX 4090',
    product: 'NVIDIA-GeForce-RTX-4090',
    // The seed's target is a 16 GB card ("16 GB VRAM deployment tuning"); a real RTX 4090 has
    // 24 GB. This profile is the 16 GB budget the seed tunes for, on the 4090's compute.
    memoryBytes: 16_384 * MiB,
    // The datasheets' ratio is 165 / 989 = 0.167 (dense bf16, fp32 accumulate, vs H100/H200
    // SXM); 0.149 makes 1024^2 at 9 steps (8 forwards, bf16, flash, no offload) take the seed's
    // 9 s, the midpoint of its 8-10 s: 1.339 s of H200 time (stageSeconds) / 0.149.
    computeVsH200: 0.149,
    // Session re-creation as measured on the H200 host (h200-141gb); host-bound, so the same
    // here. The seed's offload row (12-15 s) is diffusers' enable_model_cpu_offload, which
    // moves tensors instead and is faster than re-creating ORT sessions.
    uploadBytesPerSecond: sessionBytesPerSecond,
    // Datasheet TGP 450 W; ~20 W idle (estimate).
    idleWatts: 20,
    maxWatts: 450,
  },
  'h100-80gb': {
    id: 'h100-80gb',
    modelName: 'NVIDIA H100 80GB HBM3',
    product: 'NVIDIA-H100-80GB-HBM3',
    // 81559 MiB: what nvidia-smi and GFD's nvidia.com/gpu.memory report for the SXM part.
    memoryBytes: 81_559 * MiB,
    // Same GH100 compute as the H200 (989 TFLOP/s dense bf16, datasheets). Not measured with
    // the CUDA EP: its 3.35 TB/s against the H200's 4.8 would slow the memory-bound share.
    computeVsH200: 1,
    uploadBytesPerSecond: sessionBytesPerSecond,
    idleWatts: 70,
    maxWatts: 700,
  },
  'h200-141gb': {
    id: 'h200-141gb',
    modelName: 'NVIDIA H200',
    product: 'NVIDIA-H200',
    // 143771 MiB as nvidia-smi reports it (141 GB HBM3e).
    memoryBytes: 143_771 * MiB,
    // The reference: every H200 rate below is measured on this card.
    computeVsH200: 1,
    uploadBytesPerSecond: sessionBytesPerSecond,
    idleWatts: 75,
    maxWatts: 700,
  },
  // The retail card the seed measured on: the 16 GB profile's compute and link with its full
  // 24564 MiB (nvidia-smi), where all three components stay resident (20.9 GB idle); without
  // offload 768^2 fits (24.0 GB) and 1024^2 does not for this runtime (26.4 GB: the VAE's
  // 5.5 GB beside the weights; diffusers, the seed, ran it). Listed last so that
  // cardForProduct, which cannot tell the two apart by product label, keeps answering the
  // 16 GB budget the seed tunes for.
  'rtx4090-24gb': {
    id: 'rtx4090-24gb',
    modelName: 'NVIDIA GeForce RTX 4090',
    product: 'NVIDIA-GeForce-RTX-4090',
    memoryBytes: 24_564 * MiB,
    computeVsH200: 0.149,
    uploadBytesPerSecond: sessionBytesPerSecond,
    idleWatts: 20,
    maxWatts: 450,
  },
};

/** The card a GPU Feature Discovery product label names, if we model it. */
export function cardForProduct(product: string | undefined): Card | undefined {
  return Object.values(cards).find((c) => c.product === product);
}

/** The model's parts, in pipeline order. */
export const components = ['text_encoder', 'transformer', 'vae_decoder'] as const;
export type Component = (typeof components)[number];

/**
 * Z-Image-Turbo's shape (diffusers' transformer_z_image.py): 6.15B
 * transformer parameters, Qwen3-4B text encoder (4.02B), 30 heads; a 16x16 pixel patch per
 * image token (VAE /8, patch 2), captions up to 512 tokens.
 */
export const zimage = {
  params: { text_encoder: 4.02e9, transformer: 6.15e9, vae_decoder: 0.05e9 },
  heads: 30,
  pixelsPerToken: 16 * 16,
  /** The worst case a refusal must assume; 1024^2 + 512 = 4608 tokens, as measured. */
  captionTokens: 512,
  /** 30 layers + 2 noise refiners see the image tokens; the caption refiners are negligible. */
  attentionCallsPerForward: 32,
} as const;

/** Every weight in bf16 or fp16 takes 2 bytes: 12.3 GB transformer, 8.0 GB text encoder. */
export function weightBytes(component: Component, _precision: Precision): number {
  return zimage.params[component] * 2;
}

/**
 * Where each component's session lives per offload mode, as src/runtime/pipeline/sessions.ts
 * places them: `none` keeps all three on the GPU, `model` creates one at a time on the GPU, `cpu`
 * puts the text encoder and the VAE on the CPU EP and keeps only the transformer on the GPU.
 */
export function onGpu(component: Component, offload: OffloadMode): boolean {
  return offload !== 'cpu' || component === 'transformer';
}

/** CUDA context plus cuBLAS/cuDNN workspaces; ~0.3-0.6 GB on these cards (estimate). */
export const contextBytes = 0.5 * GB;

/**
 * One attention call at 4608 tokens on the H200, in ms (ORT 1.30's kernel check, a/). Each
 * setting is modelled with the kernel it names. On the CUDA EP that is what ORT's own kernel
 * report showed (src/contract/runtime.ts `attentionEnv`), except `flash` and `efficient` in
 * bf16, where ORT falls back to its unfused MATH path and the runtime refuses them at start-up;
 * for modelled cards (pacing, the simulator) those two keep their own kernel's time, as
 * PyTorch runs them in bf16 (the seed's flash rows).
 */
const attentionMsH200: Record<AttentionBackend, number> = {
  flash: 0.74,
  efficient: 1.84,
  // 0.32 ms in bf16, 0.49 ms in fp16; the bf16 figure (the seed's precision).
  cudnn: 0.32,
  // The unfused graph (MatMul, Softmax): its 2-layer forward (4 calls at 4608 tokens) took
  // 40.8 ms against the cudnn graph's 24.8, i.e. 4.0 ms more per call (bf16).
  math: 4.3,
};
const referenceTokens = 4608;

/**
 * Transformer activations: fused kernels are linear in tokens. Measured: with `offload: cpu`
 * only the transformer is on the GPU, and its 1024^2 run (4096 image + 32 caption tokens)
 * peaked at 5794 MiB above idle with 3.63 GB of weights (6-layer export, bf16, the exporter's
 * rewritten graph; bench/gpu/results/h200-2026-12-01-3): 6.08 - 3.63 - 0.5 (context) = 1.95 GB
 * at 4128 tokens, 472 kB per token (ORT's arena included; the plain export: 2.0 GB). At 4608
 * tokens that is 2.2 GB, and with the real 12.3 GB of weights a 15.0 GB (13.9 GiB) peak: the
 * seed's "13-14 GB" read in GiB, as nvidia-smi prints it.
 */
const transformerBytesPerToken = 1.95e9 / 4128;
/**
 * The unfused (math) kernel also holds the scores and their softmax: 5.3 GiB peak at 4608
 * tokens (ORT on an H200, docs/performance.md; PyTorch's math: +5.7 GiB), i.e. 8.9 bytes per
 * head x token^2 element, quadratic in tokens. So math at 1024^2 needs 19.2 GB: the seed's
 * "SDPA 18+ GB (OOM)" on the 16 GB budget.
 */
const mathBytesPerScore = (5.3 * GiB) / (zimage.heads * referenceTokens ** 2);
/** Text encoder activations for 512 tokens (estimate: a 4B decoder without a KV cache). */
const textEncoderActivationBytes = 0.2 * GB;
/**
 * VAE decoder activations without tiling, cuDNN's convolution workspace included: 5.5 GB per
 * megapixel. Measured at 1024^2: alone on an empty H200 it peaked at +6.4 GiB (cuDNN takes a
 * larger workspace when there is room: the Node binding cannot cap it); under the 16 GB ballast
 * the whole `model` run peaked at 5808 MiB, so its VAE stage took at most 6.09 - 0.5 - 0.1 GB;
 * with 3 GiB to spare beside the resident weights its Conv nodes could not get memory (a/, b/).
 */
const vaeBytesPerPixel = (5.5 * GB) / 2 ** 20;

/** What one generation asks of the card. */
export interface Workload {
  width: number;
  height: number;
  /** Scheduler steps (9 for Turbo). */
  steps: number;
  precision: Precision;
  offload: OffloadMode;
  attention: AttentionBackend;
  /**
   * `terminal-zero` (the original pipeline: the last step has dt 0, so 9 steps = 8 forwards)
   * or `linear-to-1/n` (one forward per step); the model directory's zimage.json says which.
   */
  schedule?: 'terminal-zero' | 'linear-to-1/n';
}

export function tokensFor(w: Pick<Workload, 'width' | 'height'>): number {
  return (w.width * w.height) / zimage.pixelsPerToken + zimage.captionTokens;
}

export function forwardsFor(w: Pick<Workload, 'steps' | 'schedule'>): number {
  return (w.schedule ?? 'terminal-zero') === 'terminal-zero' ? Math.max(1, w.steps - 1) : w.steps;
}

/** Activations of one component while it runs a generation of this size. */
export function activationBytes(
  component: Component,
  w: Pick<Workload, 'width' | 'height' | 'attention' | 'precision'>,
): number {
  switch (component) {
    case 'text_encoder':
      return textEncoderActivationBytes;
    case 'vae_decoder':
      return w.width * w.height * vaeBytesPerPixel;
    case 'transformer': {
      const tokens = tokensFor(w);
      const linear = tokens * transformerBytesPerToken;
      const scores = w.attention === 'math' ? mathBytesPerScore : 0;
      return linear + zimage.heads * tokens ** 2 * scores;
    }
  }
}

export interface StageMemory {
  component: Component;
  /** Weights on the GPU while this stage runs. */
  weightBytes: number;
  /** This stage's activations on the GPU (0 when it runs on the CPU). */
  activationBytes: number;
  /** Context + weights + activations. */
  totalBytes: number;
}

export interface MemoryPlan {
  stages: StageMemory[];
  /** The largest stage: what must fit. */
  peakBytes: number;
  /** Between requests: context plus the weights that stay resident. */
  idleBytes: number;
  fits: boolean;
  card: Card;
}

/** Resident GPU weights while `running` runs (all GPU components, or only it for `model`). */
function residentWeights(w: Workload, running: Component | undefined): number {
  return components
    .filter((c) => onGpu(c, w.offload))
    .filter((c) => w.offload !== 'model' || c === running)
    .reduce((sum, c) => sum + weightBytes(c, w.precision), 0);
}

/** VRAM per stage of one generation, its peak, and whether it fits the card. */
export function memoryPlan(card: Card, w: Workload): MemoryPlan {
  const stages = components.map((component): StageMemory => {
    const weights = residentWeights(w, component);
    const act = onGpu(component, w.offload) ? activationBytes(component, w) : 0;
    return {
      component,
      weightBytes: weights,
      activationBytes: act,
      totalBytes: contextBytes + weights + act,
    };
  });
  const peakBytes = Math.max(...stages.map((s) => s.totalBytes));
  return {
    stages,
    peakBytes,
    idleBytes: contextBytes + residentWeights(w, undefined),
    fits: peakBytes <= card.memoryBytes,
    card,
  };
}

/**
 * VRAM in use now, from what a runtime reports: its config, the sessions resident at this
 * moment (zimage_resident_sessions) and the size of the image generating (none when idle).
 * With sessions known, `model` offload needs no guess about which stage runs.
 */
export function memoryInUse(
  w: Pick<Workload, 'precision' | 'offload' | 'attention'>,
  resident: readonly Component[],
  generating?: { width: number; height: number },
): number {
  const gpu = resident.filter((c) => onGpu(c, w.offload));
  const weights = gpu.reduce((sum, c) => sum + weightBytes(c, w.precision), 0);
  const act = generating
    ? Math.max(0, ...gpu.map((c) => activationBytes(c, { ...w, ...generating })))
    : 0;
  return contextBytes + weights + act;
}

/**
 * The transformer's effective throughput on the H200, everything but attention: 431 TFLOP/s.
 * Measured: the 30-layer forward at 4608 tokens (estimated from 2 and 6 layers) takes 141.6 ms
 * in bf16 with the exporter's graph rewrites (138.8 ms fp16; 177.1 ms without the rewrites,
 * PyTorch eager 160.3 ms), of which 32 cudnn attention calls are 10.2 ms: 2 x 6.15e9 x 4608
 * FLOP in 131.4 ms (the third run, the exporter's graph through the runtime: 441 TFLOP/s). A
 * single MatMul runs at 630 TFLOP/s; the rest is elementwise traffic.
 * The text encoder is assumed to run at the same rate. Other cards scale by `computeVsH200`.
 */
const h200FlopsPerSecond = 431e12;
/** The VAE decoder at 1024^2 on the H200 took 88 ms (real size, fp16, a/ `vae-1024`). */
const vaeSecondsPerPixelH200 = 0.088 / 2 ** 20;
/**
 * The CPU EP's share under `offload: cpu` (host-bound, the same on every card). Measured on
 * the H200 host's 16 cores: the VAE decoder at 1024^2 in fp32 took 15.6 s (a/, the 16 GB card).
 * The text encoder (Qwen3-4B, fp32) was measured with 2 of its 36 layers only; 2 s is an
 * estimate (about 4 TFLOP at 512 tokens; real captions are shorter).
 */
const cpuTextEncoderSeconds = 2;
const cpuVaeSecondsPerPixel = 15.6 / 2 ** 20;

export interface StageSeconds {
  /** Text encoder, with its weight upload under `offload: model`. */
  textEncoder: number;
  /** Uploading the transformer's weights (only under `offload: model`). */
  transformerLoad: number;
  /** One transformer forward (one denoising step). */
  transformerStep: number;
  forwards: number;
  /** VAE decoder, with its upload under `offload: model`. */
  vae: number;
  total: number;
}

/**
 * Seconds per stage of one image. E.g. the H200 at 1024^2, bf16, cudnn, 9 steps: a forward is
 * 5.67e13 FLOP / 431e12 = 131.5 ms plus 32 attention calls x 0.32 ms = 141.8 ms; the text
 * encoder 9.6 ms and the VAE 88 ms, so 1.23 s per image (measured over HTTP with the 6-layer
 * export and scaled to 30 layers: 1.46 s, the rest being host work the model leaves out). The
 * 4090 profile divides every GPU stage by 0.149: 8.3 s with cudnn, 9.0 s with flash (the seed's
 * flash row: 8-10 s); `model` offload adds 20.4 GB / 2.1 GB/s = 9.7 s (the seed: 12-15 s in all,
 * with diffusers' offload); `cpu` adds the CPU EP's 17.6 s and saves the GPU's TE and VAE.
 */
export function stageSeconds(card: Card, w: Workload): StageSeconds {
  const rate = h200FlopsPerSecond * card.computeVsH200;
  const tokens = tokensFor(w);
  const upload = (c: Component) =>
    w.offload === 'model' ? weightBytes(c, w.precision) / card.uploadBytesPerSecond : 0;
  const attentionMs = attentionMsH200[w.attention] / card.computeVsH200;
  const transformerStep =
    (2 * zimage.params.transformer * tokens) / rate +
    (zimage.attentionCallsPerForward * attentionMs * (tokens / referenceTokens) ** 2) / 1000;
  const pixels = w.width * w.height;
  const gpu = (c: Component) => onGpu(c, w.offload);
  const textEncoder = gpu('text_encoder')
    ? (2 * zimage.params.text_encoder * zimage.captionTokens) / rate + upload('text_encoder')
    : cpuTextEncoderSeconds;
  const vae = gpu('vae_decoder')
    ? (pixels * vaeSecondsPerPixelH200) / card.computeVsH200 + upload('vae_decoder')
    : pixels * cpuVaeSecondsPerPixel;
  const forwards = forwardsFor(w);
  const transformerLoad = upload('transformer');
  return {
    textEncoder,
    transformerLoad,
    transformerStep,
    forwards,
    vae,
    total: textEncoder + transformerLoad + forwards * transformerStep + vae,
  };
}
