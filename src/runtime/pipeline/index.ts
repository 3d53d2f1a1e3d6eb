/** Entry point of the pipeline for the worker thread. */
import { resolveAttentionKernel } from './attention.ts';
import { cards } from '../../contract/card.ts';
import { loadModelDir } from './model-dir.ts';
import { Pacer } from './pacing.ts';
import { ZImagePipeline } from './pipeline.ts';
import { loadTokenizer } from './tokenizer.ts';
import type { Pipeline, PipelineOptions } from './types.ts';
import path from 'node:path';

export type { Pipeline, PipelineHooks, PipelineOptions } from './types.ts';
export { ZImagePipeline } from './pipeline.ts';

export async function createPipeline(options: PipelineOptions): Promise<Pipeline> {
  const pipeline = await loadPipeline(options);
  // Before any session exists: the probe child needs the GPU memory the sessions will take.
  pipeline.attentionKernel = await resolveAttentionKernel({
    model: pipeline.model,
    settings: pipeline.settings,
    maxSize: options.maxSize ?? { width: 1024, height: 1024 },
  });
  await pipeline.pool.warm();
  return pipeline;
}

/** Loads manifest and tokenizer, creates no session yet. */
export async function loadPipeline(options: PipelineOptions): Promise<ZImagePipeline> {
  const model = await loadModelDir(options.modelDir);
  const tokenizer = await loadTokenizer(
    path.join(options.modelDir, model.manifest.tokenizer.dir),
    model.manifest.tokenizer.max_tokens,
  );
  return new ZImagePipeline(
    model,
    tokenizer,
    {
      executionProvider: options.executionProvider,
      attention: options.attention,
      precision: options.precision,
      intraOpThreads: options.intraOpThreads,
      deviceId: options.deviceId,
      allowCpuFallback: options.allowCpuFallback,
    },
    options.offload,
    options.pacing ? new Pacer(cards[options.pacing.card]) : undefined,
  );
}
