/**
 * An Engine for server-side unit tests (the boundary the server talks to). Each step takes
 * `stepMs` on the given clock and the AbortSignal is honoured between steps, like the real
 * pipeline. `failWith` makes chosen jobs fail with an engine error code.
 */
import type { OffloadMode } from '../../src/contract/runtime.ts';
import {
  EngineError,
  type Engine,
  type EngineErrorCode,
  type EngineInfo,
  type GenerateHooks,
  type GenerateJob,
  type GenerateResult,
} from '../../src/runtime/engine.ts';

/** The 8-byte PNG signature: enough for a client to tell a PNG came back. */
export const fakePng = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export interface FakeEngineOptions {
  sleep?: (ms: number) => Promise<void>;
  stepMs?: number;
}

export class FakeEngine implements Engine {
  readonly jobs: GenerateJob[] = [];
  readonly offloads: OffloadMode[] = [];
  /** Steps run per job index (to see where a cancelled job stopped). */
  readonly stepsRun: number[] = [];
  failWith:
    ((job: GenerateJob) => { code: EngineErrorCode; message: string } | undefined) | undefined;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly stepMs: number;
  private current: EngineInfo = {
    executionProvider: 'cpu',
    attention: 'flash',
    offload: 'none',
    transformerVariant: 'fused',
    attentionKernel: 'UNREPORTED',
    resident: ['text_encoder', 'transformer', 'vae_decoder'],
    componentProviders: { text_encoder: 'cpu', transformer: 'cpu', vae_decoder: 'cpu' },
  };

  constructor(options: FakeEngineOptions = {}) {
    this.sleep = options.sleep ?? (() => Promise.resolve());
    this.stepMs = options.stepMs ?? 0;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  async generate(job: GenerateJob, hooks: GenerateHooks = {}): Promise<GenerateResult> {
    const index = this.jobs.push(job) - 1;
    this.stepsRun[index] = 0;
    const failure = this.failWith?.(job);
    if (failure) throw new EngineError(failure.code, failure.message);
    for (let step = 0; step < job.steps; step++) {
      if (hooks.signal?.aborted) throw new EngineError('CANCELLED', `cancelled at step ${step}`);
      await this.sleep(this.stepMs);
      this.stepsRun[index] = step + 1;
      hooks.onStep?.(step, job.steps, this.stepMs);
    }
    const ms = job.steps * this.stepMs;
    return {
      png: new Uint8Array(fakePng),
      width: job.width,
      height: job.height,
      seed: job.seed,
      steps: job.steps,
      timings: {
        encodeMs: 1,
        denoiseMs: ms,
        decodeMs: 1,
        stepMs: Array.from({ length: job.steps }, () => this.stepMs),
        totalMs: ms + 2,
        sessionCreateMs: 0,
      },
    };
  }

  setOffload(mode: OffloadMode): Promise<void> {
    this.offloads.push(mode);
    this.current = { ...this.current, offload: mode };
    return Promise.resolve();
  }

  info(): EngineInfo {
    return this.current;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
