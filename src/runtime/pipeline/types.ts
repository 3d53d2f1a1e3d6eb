/**
 * The pipeline's public face, used by the worker thread. The pipeline never imports fastify or
 * the server: it knows jobs, sessions and tensors only.
 */
import type { CardId } from '../../contract/card.ts';
import type {
  AttentionBackend,
  ExecutionProvider,
  OffloadMode,
  Precision,
} from '../../contract/runtime.ts';
import type { EngineInfo, GenerateJob, GenerateResult } from '../engine.ts';

export interface PipelineOptions {
  /** Model directory (zimage.json, tokenizer/, text_encoder/, transformer/, vae_decoder/). */
  modelDir: string;
  executionProvider: ExecutionProvider;
  attention: AttentionBackend;
  offload: OffloadMode;
  precision: Precision;
  /** ORT intra-op threads per session; default: cores - 1 (the main thread keeps a core). */
  intraOpThreads?: number;
  /** GPU ordinal for cuda/webgpu. */
  deviceId?: number;
  /** Diagnostics only: allow ORT's CPU fallback on GPU sessions (default false). */
  allowCpuFallback?: boolean;
  /** The largest request size (ZIMAGE_MAX_RESOLUTION): the attention check's size. Default 1024x1024. */
  maxSize?: { width: number; height: number };
  /** Local fleet only: hold each stage for the card model's time on this card (pacing.ts). */
  pacing?: { card: CardId };
}

export interface PipelineHooks {
  /** Polled between steps; true cancels the job (EngineError CANCELLED). */
  isCancelled?: () => boolean;
  onStep?: (index: number, total: number, ms: number) => void;
}

export interface Pipeline {
  generate(job: GenerateJob, hooks?: PipelineHooks): Promise<GenerateResult>;
  /** Switch offload mode: creates or releases sessions so the resident set matches. */
  setOffload(mode: OffloadMode): Promise<void>;
  /** Release every session and create the resident ones again (after an allocation failure). */
  recreate(): Promise<void>;
  info(): EngineInfo;
  release(): Promise<void>;
}
