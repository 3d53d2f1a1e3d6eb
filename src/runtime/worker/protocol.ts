/**
 * Messages between the engine client (main thread) and the pipeline worker thread.
 *
 * main -> worker: one request at a time per id; the worker runs them strictly in arrival order
 *   (a `recreate` sent after an OOM therefore runs before the next `generate`).
 * worker -> main: any number of `step` messages for a generate, then exactly one `done` or
 *   `failed` for every request id.
 *
 * Cancellation cannot be a message: ORT's run() blocks the worker's event loop for a whole
 * transformer forward, so a posted "cancel" would only be read after the job ended. Each
 * generate carries its own 4-byte SharedArrayBuffer instead; the main thread stores 1 into it
 * when the job's AbortSignal fires and the pipeline's isCancelled hook reads it with
 * Atomics.load between steps.
 */
import type { OffloadMode } from '../../contract/runtime.ts';
import {
  EngineError,
  engineErrorCodes,
  type EngineErrorCode,
  type EngineInfo,
  type GenerateJob,
  type GenerateResult,
} from '../engine.ts';
import { isGpuFailure, isOutOfMemory } from '../failures.ts';
import type { PipelineOptions } from '../pipeline/types.ts';

export type WorkerRequest =
  | { type: 'init'; id: number; options: PipelineOptions }
  | { type: 'generate'; id: number; job: GenerateJob; cancel: SharedArrayBuffer }
  | { type: 'setOffload'; id: number; mode: OffloadMode }
  | { type: 'recreate'; id: number }
  | { type: 'release'; id: number };

/** Distributes over the union: a request without its id, for the client to number. */
export type WorkerCall = OmitId<WorkerRequest>;
type OmitId<T> = T extends unknown ? Omit<T, 'id'> : never;

export type WorkerReply =
  | { type: 'step'; id: number; index: number; total: number; ms: number }
  /** `result` only for generate; the PNG's buffer is transferred, not copied. */
  | { type: 'done'; id: number; info: EngineInfo | undefined; result?: GenerateResult }
  | { type: 'failed'; id: number; error: WireError; info: EngineInfo | undefined };

/** An error as it crosses the thread boundary (Error objects lose their class on the way). */
export interface WireError {
  code: EngineErrorCode;
  message: string;
}

/** Value of the cancel cell once the job should stop. */
export const cancelRequested = 1;

/**
 * ORT reports allocation failures as plain errors, e.g. "BFCArena::AllocateRawInternal ...
 * Failed to allocate memory" (CUDA), "std::bad_alloc" (host), "CUBLAS_STATUS_ALLOC_FAILED".
 * The pipeline should throw EngineError itself; this catches what it lets through.
 */
export function toWireError(err: unknown): WireError {
  if (err instanceof EngineError) return { code: err.code, message: err.message };
  const error = err instanceof Error ? err : new Error(String(err));
  const code = isGpuFailure(error)
    ? 'GPU_FAILED'
    : isOutOfMemory(error)
      ? 'OUT_OF_MEMORY'
      : 'INTERNAL';
  return { code, message: error.message };
}

export function fromWireError(wire: WireError): EngineError {
  const code = engineErrorCodes.includes(wire.code) ? wire.code : 'INTERNAL';
  return new EngineError(code, wire.message);
}
