/**
 * ONNX Runtime sessions per component, placed by execution provider and offload mode:
 *
 * | offload | text encoder     | transformer | VAE decoder      | resident between requests |
 * |---------|------------------|-------------|------------------|---------------------------|
 * | none    | EP               | EP          | EP               | all three                 |
 * | model   | EP, per call     | EP, per call| EP, per call     | none (one at a time)      |
 * | cpu     | CPU EP, fp32     | EP          | CPU EP, fp32     | all three                 |
 *
 * `model` is the ORT analogue of diffusers' enable_model_cpu_offload: only one component's
 * weights occupy the device at a time (about 12 GB for the bf16 transformer instead of ~21 GB
 * for all three), paid for with session creation on every request.
 */
import os from 'node:os';
import { InferenceSession } from 'onnxruntime-node';
import type {
  AttentionBackend,
  ExecutionProvider,
  OffloadMode,
  Precision,
} from '../../contract/runtime.ts';
import { transformerVariant } from '../../contract/runtime.ts';
import { EngineError } from '../engine.ts';
import { isGpuFailure, isOutOfMemory } from '../failures.ts';

export { isGpuFailure, isOutOfMemory };
import { pickFile, type FilePrecision, type ModelDir } from './model-dir.ts';

export const components = ['text_encoder', 'transformer', 'vae_decoder'] as const;
export type Component = (typeof components)[number];

export interface Placement {
  component: Component;
  provider: ExecutionProvider;
  file: string;
  precision: FilePrecision;
}

export interface SessionSettings {
  executionProvider: ExecutionProvider;
  attention: AttentionBackend;
  precision: Precision;
  intraOpThreads?: number | undefined;
  deviceId?: number | undefined;
  /** Let ORT run nodes without a GPU kernel on the CPU (diagnostics only; default false). */
  allowCpuFallback?: boolean | undefined;
}

/**
 * The file precision a component's session takes. CPU: fp32 (no bf16 kernels). The VAE decoder
 * on a GPU never takes bf16: ONNX's Conv accepts bfloat16 only from opset 22, so ORT refuses the
 * exported bf16 VAE as an invalid model (H200, 2026-12-01); its fp16 file is used instead.
 */
export function filePrecision(
  component: Component,
  provider: ExecutionProvider,
  precision: Precision,
): FilePrecision {
  if (provider === 'cpu') return 'fp32';
  return component === 'vae_decoder' && precision === 'bf16' ? 'fp16' : precision;
}

/** Where each component runs for an offload mode (pure: tested without sessions). */
export function placements(model: ModelDir, s: SessionSettings, offload: OffloadMode): Placement[] {
  const files = model.manifest.files;
  const variant = transformerVariant[s.attention];
  return components.map((component) => {
    const provider = offload === 'cpu' && component !== 'transformer' ? 'cpu' : s.executionProvider;
    const wanted = filePrecision(component, provider, s.precision);
    const byPrecision = component === 'transformer' ? files.transformer[variant] : files[component];
    const picked = pickFile(
      byPrecision,
      wanted,
      component === 'transformer' ? `transformer.${variant}` : component,
    );
    return { component, provider, file: model.resolve(picked.file), precision: picked.precision };
  });
}

/** ORT session options for one EP (pure: tested as configuration, e.g. for the CUDA EP). */
export function sessionOptions(
  provider: ExecutionProvider,
  s: Pick<SessionSettings, 'intraOpThreads' | 'deviceId' | 'allowCpuFallback'>,
): InferenceSession.SessionOptions {
  // Leave the main thread (HTTP, probes) a core: 2 cores -> 1 ORT thread.
  const threads = s.intraOpThreads ?? Math.max(1, os.availableParallelism() - 1);
  const base: InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
  };
  if (provider === 'cpu') return { ...base, executionProviders: ['cpu'] };
  const ep =
    provider === 'cuda'
      ? { name: 'cuda' as const, deviceId: s.deviceId ?? 0 }
      : // The native WebGPU EP prefers NHWC; its layout transform adds int64 shape Gathers that
        // ORT places on the CPU (22 in the VAE), so a strict session would not start (H200,
        // 2026-11-26). NCHW keeps every node on the GPU.
        { name: 'webgpu' as const, preferredLayout: 'NCHW' as const };
  return {
    ...base,
    executionProviders: [ep],
    // A node without a GPU kernel must fail session creation, not run silently on the CPU.
    extra: { session: { disable_cpu_ep_fallback: s.allowCpuFallback ? '0' : '1' } },
  };
}

export function asEngineError(err: unknown, what: string): EngineError {
  if (err instanceof EngineError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isGpuFailure(err))
    return new EngineError('GPU_FAILED', `${what}: the CUDA context is broken: ${message}`, {
      cause: err,
    });
  if (isOutOfMemory(err))
    return new EngineError('OUT_OF_MEMORY', `${what}: out of memory: ${message}`, { cause: err });
  return new EngineError('INTERNAL', `${what}: ${message}`, { cause: err });
}

export class SessionPool {
  readonly #model: ModelDir;
  readonly #settings: SessionSettings;
  readonly #open = new Map<Component, InferenceSession>();
  #offload: OffloadMode;
  #placements: Placement[];
  /** Time spent creating sessions since the last take (for per-request timings). */
  createMs = 0;

  constructor(model: ModelDir, settings: SessionSettings, offload: OffloadMode) {
    this.#model = model;
    this.#settings = settings;
    this.#offload = offload;
    this.#placements = placements(model, settings, offload);
  }

  get offload(): OffloadMode {
    return this.#offload;
  }

  resident(): Component[] {
    return components.filter((c) => this.#open.has(c));
  }

  providers(): Record<Component, ExecutionProvider> {
    return Object.fromEntries(this.#placements.map((p) => [p.component, p.provider])) as Record<
      Component,
      ExecutionProvider
    >;
  }

  /** Create the sessions that stay resident in this mode (none for `model`). */
  async warm(): Promise<void> {
    if (this.#offload === 'model') return;
    for (const c of components) await this.acquire(c);
  }

  async acquire(component: Component): Promise<InferenceSession> {
    const open = this.#open.get(component);
    if (open) return open;
    const placement = this.#placements.find((p) => p.component === component);
    if (!placement) throw new Error(`no placement for ${component}`);
    const started = performance.now();
    try {
      const session = await InferenceSession.create(
        placement.file,
        sessionOptions(placement.provider, this.#settings),
      );
      this.#open.set(component, session);
      return session;
    } catch (err) {
      throw asEngineError(err, `creating the ${component} session on ${placement.provider}`);
    } finally {
      this.createMs += performance.now() - started;
    }
  }

  /** After a component's work: release it when offloading per model. */
  async done(component: Component): Promise<void> {
    if (this.#offload === 'model') await this.releaseOne(component);
  }

  async releaseOne(component: Component): Promise<void> {
    const session = this.#open.get(component);
    this.#open.delete(component);
    await session?.release();
  }

  async releaseAll(): Promise<void> {
    for (const c of components) await this.releaseOne(c);
  }

  async setOffload(mode: OffloadMode): Promise<void> {
    if (mode === this.#offload) return;
    const next = placements(this.#model, this.#settings, mode);
    // Release what changes place (or everything, entering `model`), then warm the new set.
    for (const p of next) {
      const before = this.#placements.find((q) => q.component === p.component);
      if (mode === 'model' || before?.provider !== p.provider || before.file !== p.file)
        await this.releaseOne(p.component);
    }
    this.#offload = mode;
    this.#placements = next;
    await this.warm();
  }
}
