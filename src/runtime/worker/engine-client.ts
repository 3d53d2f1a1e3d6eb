/**
 * The Engine the server uses: the pipeline runs in a worker thread (worker.ts), because ORT's
 * run() blocks its thread's event loop for a whole transformer forward (seconds at 1024^2) and
 * probes on the main thread must keep answering. Protocol: protocol.ts.
 *
 * Failure handling:
 * - OUT_OF_MEMORY: the failed job is rejected at once, the engine reports `recovering` and asks
 *   the worker to recreate its sessions (queued in the worker ahead of any later job), then
 *   reports ready again. More than `maxOomRestarts` OOMs in a row (no success in between), or a
 *   failed recreate, is fatal: the process should exit so Kubernetes starts a clean one.
 * - GPU_FAILED (a CUDA error that breaks the context, e.g. an illegal memory access): fatal at
 *   once, since every later CUDA call in the process would fail too.
 * - The worker dies (exit/error event): every pending call is rejected with INTERNAL, the
 *   engine is broken for good and `onFatal` fires.
 */
import { Worker } from 'node:worker_threads';
import { systemClock, type Clock, type TimerHandle } from '../../contract/clock.ts';
import {
  attentionEnv,
  transformerVariant,
  unreportedKernel,
  type OffloadMode,
} from '../../contract/runtime.ts';
import {
  EngineError,
  type Engine,
  type EngineInfo,
  type GenerateHooks,
  type GenerateJob,
  type GenerateResult,
} from '../engine.ts';
import type { PipelineOptions } from '../pipeline/types.ts';
import type { StartupTimings } from '../state.ts';
import { cancelRequested, fromWireError, type WorkerCall, type WorkerReply } from './protocol.ts';

export interface WarmupOptions {
  width: number;
  height: number;
  steps: number;
}

export interface WorkerEngineOptions {
  pipeline: PipelineOptions;
  /** The warm-up image that start() generates before the engine counts as ready. */
  warmup: WarmupOptions;
  /** Session recreations allowed after consecutive OOMs; the next OOM is fatal. */
  maxOomRestarts: number;
  /** The engine cannot work any more; main exits non-zero so the pod restarts. */
  onFatal: (reason: string) => void;
  /** True while sessions are recreated after an OOM (not ready), false once done. */
  onRecovering?: (recovering: boolean) => void;
  /** Each OOM, before recovery starts (for zimage_oom_total). */
  onOutOfMemory?: (consecutive: number) => void;
  /** Worker script; tests pass one that serves a fake pipeline. Default: worker.ts. */
  workerUrl?: URL;
  /** Sets process env before the worker starts. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Times the release deadline of close(). Default: the system clock. */
  clock?: Clock;
}

interface Pending {
  resolve: (reply: Extract<WorkerReply, { type: 'done' }>) => void;
  reject: (err: EngineError) => void;
  onStep: GenerateHooks['onStep'];
}

/** A neutral prompt for the warm-up image; its content does not matter. */
const warmupPrompt = 'a plain grey square';

export class WorkerEngine implements Engine {
  private readonly o: WorkerEngineOptions;
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private lastInfo: EngineInfo;
  private broken: string | undefined;
  private closing = false;
  private consecutiveOoms = 0;
  /** Set once start() has finished. */
  startup: StartupTimings | undefined;

  constructor(options: WorkerEngineOptions) {
    this.o = options;
    const { executionProvider, attention, offload } = options.pipeline;
    this.lastInfo = {
      executionProvider,
      attention,
      offload,
      transformerVariant: transformerVariant[attention],
      attentionKernel: unreportedKernel,
      resident: [],
      componentProviders: {},
    };
  }

  async start(): Promise<void> {
    // ORT's CUDA EP reads its attention switches with getenv(): they must be in the real
    // process environment before the worker loads ORT (a worker's process.env is a private
    // copy, so setting them inside the worker would not reach native code). Values already
    // set (an operator override) win.
    const env = this.o.env ?? process.env;
    for (const [name, value] of Object.entries(attentionEnv[this.o.pipeline.attention])) {
      env[name] ??= value;
    }
    // ORT 1.30 on Linux turns telemetry on by default: it writes a device id under $HOME (a
    // read-only root in the pod) and resolves mobile.events.data.microsoft.com. An inference
    // pod must do neither (seen with strace under the read-only-root sandbox test).
    env['ORT_DISABLE_TELEMETRY'] ??= '1';
    const worker = new Worker(this.o.workerUrl ?? new URL('./worker.ts', import.meta.url), {
      name: 'zimage-pipeline',
    });
    this.worker = worker;
    worker.on('message', (reply: WorkerReply) => this.onReply(reply));
    worker.on('error', (err) => this.onCrash(`pipeline worker failed: ${String(err)}`));
    worker.on('messageerror', (err) => this.onCrash(`unreadable worker message: ${err.message}`));
    worker.on('exit', (code) => this.onCrash(`pipeline worker exited with code ${code}`));

    const t0 = performance.now();
    await this.call({ type: 'init', options: this.o.pipeline });
    const t1 = performance.now();
    const { width, height, steps } = this.o.warmup;
    await this.run({ prompt: warmupPrompt, width, height, seed: 0, steps }, {});
    this.startup = {
      sessionsSeconds: (t1 - t0) / 1000,
      generationSeconds: (performance.now() - t1) / 1000,
    };
  }

  async generate(job: GenerateJob, hooks: GenerateHooks = {}): Promise<GenerateResult> {
    try {
      const result = await this.run(job, hooks);
      this.consecutiveOoms = 0;
      return result;
    } catch (err) {
      if (err instanceof EngineError && err.code === 'OUT_OF_MEMORY') this.recover();
      // Recreating sessions cannot help a broken CUDA context: exit so the pod restarts.
      if (err instanceof EngineError && err.code === 'GPU_FAILED') this.fail(err.message);
      throw err;
    }
  }

  async setOffload(mode: OffloadMode): Promise<void> {
    await this.call({ type: 'setOffload', mode });
  }

  info(): EngineInfo {
    return this.lastInfo;
  }

  /** Why the engine is unusable, or undefined while it works. */
  brokenReason(): string | undefined {
    return this.broken;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    const worker = this.worker;
    // Releasing sessions frees GPU memory cleanly; a hung release must not block shutdown, so
    // it gets 10 s before the thread is terminated anyway. Sent before `closing` is set, which
    // refuses every later call.
    const release = worker && !this.broken ? this.call({ type: 'release' }) : undefined;
    this.closing = true;
    if (!worker) return;
    if (release) {
      const clock = this.o.clock ?? systemClock;
      let timer: TimerHandle | undefined;
      const timeout = new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, 10_000)));
      await Promise.race([release.catch(() => undefined), timeout]);
      clock.clearTimeout(timer);
    }
    await worker.terminate();
    this.rejectAll(new EngineError('INTERNAL', 'engine closed'));
  }

  private async run(job: GenerateJob, hooks: GenerateHooks): Promise<GenerateResult> {
    const { signal, onStep } = hooks;
    if (signal?.aborted) throw new EngineError('CANCELLED', 'cancelled before it started');
    const cancel = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
    const flag = new Int32Array(cancel);
    const onAbort = () => Atomics.store(flag, 0, cancelRequested);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const reply = await this.call({ type: 'generate', job, cancel }, onStep);
      if (!reply.result) throw new EngineError('INTERNAL', 'worker sent no result');
      return reply.result;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Recreate sessions after an OOM, or give up after too many in a row. */
  private recover(): void {
    this.consecutiveOoms += 1;
    this.o.onOutOfMemory?.(this.consecutiveOoms);
    if (this.consecutiveOoms > this.o.maxOomRestarts) {
      this.fail(
        `${this.consecutiveOoms} out-of-memory failures in a row (ZIMAGE_MAX_OOM_RESTARTS=${this.o.maxOomRestarts})`,
      );
      return;
    }
    this.o.onRecovering?.(true);
    // Sent now, before the caller can submit another job, so the worker recreates first.
    this.call({ type: 'recreate' }).then(
      () => this.o.onRecovering?.(false),
      (err: unknown) => this.fail(`recreating sessions after out-of-memory failed: ${String(err)}`),
    );
  }

  private call(
    request: WorkerCall,
    onStep?: GenerateHooks['onStep'],
  ): Promise<Extract<WorkerReply, { type: 'done' }>> {
    if (this.broken) {
      return Promise.reject(new EngineError('INTERNAL', `engine unavailable: ${this.broken}`));
    }
    const worker = this.worker;
    if (!worker || this.closing) {
      return Promise.reject(new EngineError('INTERNAL', 'engine not started or closed'));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onStep });
      worker.postMessage({ ...request, id });
    });
  }

  private onReply(reply: WorkerReply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    if (reply.type === 'step') {
      pending.onStep?.(reply.index, reply.total, reply.ms);
      return;
    }
    this.pending.delete(reply.id);
    if (reply.info) this.lastInfo = reply.info;
    if (reply.type === 'done') pending.resolve(reply);
    else pending.reject(fromWireError(reply.error));
  }

  private onCrash(reason: string): void {
    if (this.closing || this.broken) return;
    this.fail(reason);
    this.rejectAll(new EngineError('INTERNAL', reason));
  }

  private fail(reason: string): void {
    if (this.broken) return;
    this.broken = reason;
    this.o.onFatal(reason);
  }

  private rejectAll(err: EngineError): void {
    for (const pending of this.pending.values()) pending.reject(err);
    this.pending.clear();
  }
}
