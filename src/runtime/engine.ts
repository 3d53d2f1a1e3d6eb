/**
 * The seam between the HTTP server (main thread) and inference (a worker thread). The server
 * only sees this interface; `worker/engine-client.ts` implements it over a worker thread that
 * runs the real pipeline, and unit tests of the server may implement it with a fake.
 */
import type { AttentionBackend, ExecutionProvider, OffloadMode } from '../contract/runtime.ts';

/** One validated generation request, as the pipeline sees it (one image; n is a loop above). */
export interface GenerateJob {
  prompt: string;
  width: number;
  height: number;
  seed: number;
  steps: number;
}

export interface GenerateTimings {
  /** Tokenizer + text encoder. */
  encodeMs: number;
  /** All transformer forwards and scheduler steps. */
  denoiseMs: number;
  /** VAE decode + PNG encoding. */
  decodeMs: number;
  /** Each denoising step (one transformer forward + Euler update). */
  stepMs: number[];
  /** Whole pipeline call, inside the worker (no queueing, no HTTP). */
  totalMs: number;
  /** Session creations this call caused (offload `model` creates each component per call). */
  sessionCreateMs: number;
}

export interface GenerateResult {
  png: Uint8Array;
  width: number;
  height: number;
  seed: number;
  steps: number;
  timings: GenerateTimings;
}

/** What the runtime really runs with, reported by /readyz and the config-info metric. */
export interface EngineInfo {
  executionProvider: ExecutionProvider;
  attention: AttentionBackend;
  offload: OffloadMode;
  transformerVariant: 'fused' | 'unfused';
  /**
   * The exporter's rewrites in the transformer graph that runs (zimage.json
   * transformer.fused_graph_rewrites for the fused graph, none for the unfused one); absent
   * where the engine has not read a model directory.
   */
  transformerGraphRewrites?: string[];
  /**
   * The attention kernel that really runs, in ORT's names from its own report on the CUDA EP
   * (e.g. CUDNN_FLASH_ATTENTION), UNFUSED_GRAPH for `math`, UNREPORTED where ORT reports none.
   */
  attentionKernel: string;
  /** Components whose sessions are currently created (resident), e.g. ['text_encoder', ...]. */
  resident: string[];
  /** EP per component, e.g. { text_encoder: 'cpu', transformer: 'webgpu', vae_decoder: 'cpu' }. */
  componentProviders: Record<string, ExecutionProvider>;
}

/** Failure kinds the server maps to HTTP statuses and metrics. */
export const engineErrorCodes = [
  /** The job was cancelled between steps (deadline or shutdown). */
  'CANCELLED',
  /** An allocation failed (host or device memory). The engine recreates its sessions. */
  'OUT_OF_MEMORY',
  /** The templated prompt is longer than the text encoder's limit (client error). */
  'PROMPT_TOO_LONG',
  /**
   * A CUDA error that leaves the process's CUDA context unusable (illegal memory access, a
   * cuBLAS execution failure): every later call fails too, so the process must exit.
   */
  'GPU_FAILED',
  /** Anything else. */
  'INTERNAL',
] as const;
export type EngineErrorCode = (typeof engineErrorCodes)[number];

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EngineError';
    this.code = code;
  }
}

export interface GenerateHooks {
  /** Aborting cancels the job at the next step boundary (EngineError CANCELLED). */
  signal?: AbortSignal;
  /** Called after each denoising step with its duration. */
  onStep?: (index: number, total: number, ms: number) => void;
}

export interface Engine {
  /** Create sessions and run one warm-up generation. Rejects when either fails. */
  start(): Promise<void>;
  generate(job: GenerateJob, hooks?: GenerateHooks): Promise<GenerateResult>;
  /** Apply a new offload mode (steps are per request); resolves once sessions match it. */
  setOffload(mode: OffloadMode): Promise<void>;
  info(): EngineInfo;
  /** Release sessions and stop the worker. */
  close(): Promise<void>;
}
