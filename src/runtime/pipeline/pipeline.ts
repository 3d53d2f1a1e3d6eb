/**
 * The Z-Image pipeline on ONNX Runtime: prompt -> text encoder -> flow-matching denoise loop over
 * the transformer -> VAE decoder -> PNG. Mirrors diffusers' ZImagePipeline with guidance 0
 * (Turbo): the model output is negated before each Euler step and the transformer sees the
 * timestep as (1000 - t) / 1000.
 */
import { Tensor } from 'onnxruntime-node';
import { EngineError, type EngineInfo, type GenerateJob, type GenerateResult } from '../engine.ts';
import type { OffloadMode } from '../../contract/runtime.ts';
import { transformerVariant, unreportedKernel } from '../../contract/runtime.ts';
import { encodePng, toRgb8 } from './image.ts';
import type { ModelDir } from './model-dir.ts';
import { gaussianNoise } from './noise.ts';
import type { Pacer, StagePace } from './pacing.ts';
import { eulerStep, flowMatchSchedule } from './scheduler.ts';
import { asEngineError, SessionPool, type SessionSettings } from './sessions.ts';
import type { PromptTokenizer } from './tokenizer.ts';
import { captionFeeds, imageFeedsLayout, imageTokens, unpatchify } from './tokens.ts';
import type { Pipeline, PipelineHooks } from './types.ts';

/**
 * The text encoder's inputs. The causal mask and positions are built here, not in the graph:
 * in the graph they need int64 Range/LessOrEqual/Where, which the WebGPU EP lacks (see
 * tools/export/export_zimage.py, TextEncoderWrapper). 512 tokens -> a 1 MiB mask.
 */
export function textEncoderFeeds(ids: readonly number[]): Record<string, Tensor> {
  const n = ids.length;
  const bias = new Float32Array(n * n);
  const min = -3.4028234663852886e38; // torch.finfo(torch.float32).min
  for (let r = 0; r < n; r++) bias.fill(min, r * n + r + 1, (r + 1) * n);
  return {
    input_ids: new Tensor(
      'int64',
      BigInt64Array.from(ids, (i) => BigInt(i)),
      [1, n],
    ),
    attention_bias: new Tensor('float32', bias, [1, 1, n, n]),
    position_ids: new Tensor(
      'float32',
      Float32Array.from({ length: n }, (_, i) => i),
      [1, n],
    ),
  };
}

export interface Caption {
  feats: Float32Array;
  length: number;
}

export class ZImagePipeline implements Pipeline {
  readonly model: ModelDir;
  readonly tokenizer: PromptTokenizer;
  readonly settings: SessionSettings;
  readonly pool: SessionPool;
  /** Set by createPipeline once resolveAttentionKernel has checked it. */
  attentionKernel: string = unreportedKernel;
  /** Local fleet only: holds stages for the modelled card's time. */
  readonly pacer: Pacer | undefined;

  constructor(
    model: ModelDir,
    tokenizer: PromptTokenizer,
    settings: SessionSettings,
    offload: OffloadMode,
    pacer?: Pacer,
  ) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.settings = settings;
    this.pool = new SessionPool(model, settings, offload);
    this.pacer = pacer;
  }

  info(): EngineInfo {
    return {
      executionProvider: this.settings.executionProvider,
      attention: this.settings.attention,
      offload: this.pool.offload,
      transformerVariant: transformerVariant[this.settings.attention],
      transformerGraphRewrites:
        transformerVariant[this.settings.attention] === 'fused'
          ? this.model.manifest.transformer.fused_graph_rewrites
          : [],
      attentionKernel: this.attentionKernel,
      resident: this.pool.resident(),
      componentProviders: this.pool.providers(),
    };
  }

  async setOffload(mode: OffloadMode): Promise<void> {
    await this.pool.setOffload(mode);
  }

  async recreate(): Promise<void> {
    await this.pool.releaseAll();
    await this.pool.warm();
  }

  async release(): Promise<void> {
    await this.pool.releaseAll();
  }

  /** Token ids -> caption features [L, C] (second-to-last hidden state). */
  async encode(ids: readonly number[]): Promise<Caption> {
    const session = await this.pool.acquire('text_encoder');
    try {
      const out = await session.run(textEncoderFeeds(ids));
      const hidden = out[session.outputNames[0] ?? ''];
      if (!hidden) throw new Error('text encoder returned no output');
      return { feats: hidden.data as Float32Array, length: ids.length };
    } catch (err) {
      throw asEngineError(err, 'text encoder');
    } finally {
      await this.pool.done('text_encoder');
    }
  }

  /** One transformer forward: latents [C, h, w] -> model output [C, h, w] (not negated). */
  async forward(latents: Float32Array, caption: Caption, h: number, w: number, tNorm: number) {
    const ctx = this.denoiseContext(caption, h, w);
    try {
      return await this.forwardWith(ctx, latents, tNorm);
    } finally {
      await this.pool.done('transformer');
    }
  }

  private denoiseContext(caption: Caption, h: number, w: number) {
    const t = this.model.manifest.transformer;
    const shape = {
      axesDims: t.axes_dims,
      ropeTheta: t.rope_theta,
      channels: t.in_channels,
      seqMultiple: t.seq_multiple,
    };
    const cap = captionFeeds(shape, caption.feats, caption.length, t.cap_feat_dim);
    const img = imageFeedsLayout(shape, h, w, cap.nc);
    const half = t.head_dim / 2;
    const fixed = {
      x_pad_mask: new Tensor('bool', img.xPadMask, [1, img.nx]),
      cap_feats: new Tensor('float32', cap.capFeats, [1, cap.nc, t.cap_feat_dim]),
      cap_pad_mask: new Tensor('bool', cap.capPadMask, [1, cap.nc]),
      x_cos: new Tensor('float32', img.cos, [img.nx, half]),
      x_sin: new Tensor('float32', img.sin, [img.nx, half]),
      cap_cos: new Tensor('float32', cap.cos, [cap.nc, half]),
      cap_sin: new Tensor('float32', cap.sin, [cap.nc, half]),
    };
    return { fixed, nx: img.nx, channels: t.in_channels, h, w };
  }

  private async forwardWith(
    ctx: ReturnType<ZImagePipeline['denoiseContext']>,
    latents: Float32Array,
    tNorm: number,
  ): Promise<Float32Array> {
    const { channels: c, h, w, nx } = ctx;
    const session = await this.pool.acquire('transformer');
    try {
      const tokens = imageTokens(latents, c, h, w, nx);
      const out = await session.run({
        ...ctx.fixed,
        x_tokens: new Tensor('float32', tokens, [1, nx, 4 * c]),
        timestep: new Tensor('float32', Float32Array.of(tNorm), [1]),
      });
      const pred = out[session.outputNames[0] ?? ''];
      if (!pred) throw new Error('transformer returned no output');
      return unpatchify(pred.data as Float32Array, c, h, w);
    } catch (err) {
      throw asEngineError(err, 'transformer');
    }
  }

  /** The Euler loop from initial noise to final latents [C, h, w] (modified in place). */
  async denoise(
    latents: Float32Array,
    caption: Caption,
    h: number,
    w: number,
    steps: number,
    hooks: PipelineHooks = {},
    pace?: StagePace,
  ) {
    const sched = this.model.manifest.scheduler;
    const { sigmas, timesteps } = flowMatchSchedule(
      steps,
      sched.shift,
      sched.sigmas,
      sched.num_train_timesteps,
    );
    const ctx = this.denoiseContext(caption, h, w);
    const stepMs: number[] = [];
    try {
      for (let i = 0; i < timesteps.length; i++) {
        const sigma = sigmas[i] ?? 0;
        const next = sigmas[i + 1] ?? 0;
        if (next === sigma) continue; // dt = 0: the forward would change nothing
        if (hooks.isCancelled?.())
          throw new EngineError('CANCELLED', `cancelled before step ${i + 1} of ${steps}`);
        const started = performance.now();
        const t = timesteps[i] ?? 0;
        const out = await this.forwardWith(
          ctx,
          latents,
          Math.fround((sched.num_train_timesteps - t) / sched.num_train_timesteps),
        );
        for (let k = 0; k < out.length; k++) out[k] = -(out[k] ?? 0);
        eulerStep(latents, out, sigma, next);
        await pace?.transformerStep(started, stepMs.length);
        const ms = performance.now() - started;
        stepMs.push(ms);
        hooks.onStep?.(i, timesteps.length, ms);
      }
    } finally {
      await this.pool.done('transformer');
    }
    return stepMs;
  }

  /** Final latents [C, h, w] -> image [3, H, W] in [-1, 1]. */
  async decode(latents: Float32Array, h: number, w: number): Promise<Float32Array> {
    const vae = this.model.manifest.vae;
    const scaled = latents.map((v) =>
      Math.fround(Math.fround(v / vae.scaling_factor) + vae.shift_factor),
    );
    const session = await this.pool.acquire('vae_decoder');
    try {
      const out = await session.run({
        latents: new Tensor('float32', scaled, [1, vae.latent_channels, h, w]),
      });
      const image = out[session.outputNames[0] ?? ''];
      if (!image) throw new Error('VAE decoder returned no output');
      return image.data as Float32Array;
    } catch (err) {
      throw asEngineError(err, 'VAE decoder');
    } finally {
      await this.pool.done('vae_decoder');
    }
  }

  async generate(
    job: GenerateJob,
    hooks: PipelineHooks = {},
    initialLatents?: Float32Array,
  ): Promise<GenerateResult> {
    const started = performance.now();
    this.pool.createMs = 0;
    const { vae } = this.model.manifest;
    const h = job.height / vae.spatial_scale;
    const w = job.width / vae.spatial_scale;
    const pace = this.pacer?.begin({
      ...job,
      precision: this.settings.precision,
      offload: this.pool.offload,
      attention: this.settings.attention,
      schedule: this.model.manifest.scheduler.sigmas,
    });
    const caption = await this.encode(this.tokenizer.encode(job.prompt));
    await pace?.textEncoder(started);
    const encoded = performance.now();
    const latents = initialLatents ?? gaussianNoise(job.seed, vae.latent_channels * h * w);
    const stepMs = await this.denoise(latents, caption, h, w, job.steps, hooks, pace);
    const denoised = performance.now();
    if (hooks.isCancelled?.()) throw new EngineError('CANCELLED', 'cancelled before decoding');
    const image = await this.decode(latents, h, w);
    await pace?.vae(denoised);
    const png = encodePng(toRgb8(image, job.height, job.width), job.height, job.width);
    const done = performance.now();
    return {
      png,
      width: job.width,
      height: job.height,
      seed: job.seed,
      steps: job.steps,
      timings: {
        encodeMs: encoded - started,
        denoiseMs: denoised - encoded,
        decodeMs: done - denoised,
        stepMs,
        totalMs: done - started,
        sessionCreateMs: this.pool.createMs,
      },
    };
  }
}
