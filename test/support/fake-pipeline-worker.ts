/**
 * A worker-thread script serving a fake pipeline over the real protocol (servePipeline), for
 * engine-client tests. Like ORT, each step blocks the thread (Atomics.wait), so only the shared
 * cancel flag can stop a job. The prompt picks a behaviour: "oom", "cuda broken", "too long",
 * "crash", "uncaught"; anything else generates. What happens inside is reported on the
 * "fake-pipeline" BroadcastChannel.
 */
import { parentPort } from 'node:worker_threads';
import type { OffloadMode } from '../../src/contract/runtime.ts';
import {
  EngineError,
  type EngineInfo,
  type GenerateJob,
  type GenerateResult,
} from '../../src/runtime/engine.ts';
import type { Pipeline, PipelineHooks, PipelineOptions } from '../../src/runtime/pipeline/types.ts';
import { servePipeline } from '../../src/runtime/worker/serve.ts';

export const fakeStepMs = 20;
const events = new BroadcastChannel('fake-pipeline');
const blocker = new Int32Array(new SharedArrayBuffer(4));
/** Block this thread, as ORT's run() does. */
const block = (ms: number) => Atomics.wait(blocker, 0, 0, ms);

class FakePipeline implements Pipeline {
  private offload: OffloadMode;
  private readonly options: PipelineOptions;
  constructor(options: PipelineOptions) {
    this.options = options;
    this.offload = options.offload;
  }

  async generate(job: GenerateJob, hooks: PipelineHooks = {}): Promise<GenerateResult> {
    events.postMessage({ event: 'generate', job });
    if (job.prompt === 'oom') {
      throw new Error(
        'BFCArena::AllocateRawInternal Failed to allocate memory for requested buffer',
      );
    }
    if (job.prompt === 'cuda broken') {
      // As ORT 1.30 reported it on an H200 (unfused bf16 attention), before every later call failed.
      throw new Error(
        "Non-zero status code returned while running MultiHeadAttention node. Name:'MultiHeadAttention_3' Status Message: CUBLAS failure 13: the function failed to launch on the GPU ; GPU=0",
      );
    }
    if (job.prompt === 'too long') {
      throw new EngineError('PROMPT_TOO_LONG', 'the prompt is 700 tokens; the limit is 512');
    }
    if (job.prompt === 'crash') process.exit(3);
    if (job.prompt === 'uncaught') {
      setTimeout(() => {
        throw new Error('uncaught in the worker');
      });
      await new Promise(() => undefined);
    }
    for (let i = 0; i < job.steps; i++) {
      if (hooks.isCancelled?.()) throw new EngineError('CANCELLED', `cancelled at step ${i}`);
      block(fakeStepMs);
      hooks.onStep?.(i, job.steps, fakeStepMs);
    }
    await Promise.resolve();
    return {
      // A small Buffer lives in Node's shared pool: the server must copy it before transfer.
      png: Buffer.from(`PNG:${job.prompt}`),
      width: job.width,
      height: job.height,
      seed: job.seed,
      steps: job.steps,
      timings: {
        encodeMs: 1,
        denoiseMs: job.steps * fakeStepMs,
        decodeMs: 1,
        stepMs: [],
        totalMs: job.steps * fakeStepMs + 2,
        sessionCreateMs: 0,
      },
    };
  }

  setOffload(mode: OffloadMode): Promise<void> {
    this.offload = mode;
    events.postMessage({ event: 'setOffload', mode });
    return Promise.resolve();
  }

  recreate(): Promise<void> {
    events.postMessage({ event: 'recreate' });
    return Promise.resolve();
  }

  info(): EngineInfo {
    return {
      executionProvider: this.options.executionProvider,
      attention: this.options.attention,
      offload: this.offload,
      transformerVariant: 'fused',
      attentionKernel: 'UNREPORTED',
      resident: this.offload === 'model' ? [] : ['text_encoder', 'transformer', 'vae_decoder'],
      componentProviders: { transformer: this.options.executionProvider },
    };
  }

  release(): Promise<void> {
    events.postMessage({ event: 'release' });
    return Promise.resolve();
  }
}

if (!parentPort) throw new Error('run me as a worker thread');
servePipeline(parentPort, (options) => {
  events.postMessage({ event: 'init', options });
  return Promise.resolve(new FakePipeline(options));
});
