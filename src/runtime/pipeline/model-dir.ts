/**
 * The model directory contract (written by tools/export/export_zimage.py): `zimage.json`
 * describes the files per component and precision, the transformer's shapes and the scheduler
 * and VAE constants. Validated with zod so a wrong or partial export fails at start-up with the
 * field named, not deep inside a session.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

const filePrecisions = ['fp32', 'fp16', 'bf16'] as const;
export type FilePrecision = (typeof filePrecisions)[number];
const filesByPrecision = z.partialRecord(z.enum(filePrecisions), z.string().min(1));

export const manifestSchema = z.object({
  format: z.literal(1),
  name: z.string(),
  files: z.object({
    text_encoder: filesByPrecision,
    transformer: z.object({ fused: filesByPrecision, unfused: filesByPrecision }),
    vae_decoder: filesByPrecision,
  }),
  tokenizer: z.object({ dir: z.string(), max_tokens: z.number().int().positive() }),
  text_encoder: z.object({ hidden_size: z.number().int().positive() }),
  transformer: z.object({
    dim: z.number().int().positive(),
    heads: z.number().int().positive(),
    head_dim: z.number().int().positive(),
    in_channels: z.number().int().positive(),
    patch_size: z.literal(2),
    cap_feat_dim: z.number().int().positive(),
    rope_theta: z.number().positive(),
    axes_dims: z.array(z.number().int().positive()).length(3),
    seq_multiple: z.number().int().positive(),
    /**
     * What the exporter rewrote in the fused graphs (tools/export/fuse_graph.py), e.g.
     * ['simplified_layer_norm', 'rotary_embedding']; the unfused graphs are the plain export.
     * Reported, not acted on; absent (exports before it) reads as none.
     */
    fused_graph_rewrites: z.array(z.string().min(1)).default([]),
  }),
  scheduler: z.object({
    type: z.literal('FlowMatchEulerDiscreteScheduler'),
    num_train_timesteps: z.number().int().positive(),
    shift: z.number().positive(),
    use_dynamic_shifting: z.literal(false),
    sigmas: z.enum(['linear-to-1/n', 'terminal-zero']),
  }),
  vae: z.object({
    scaling_factor: z.number(),
    shift_factor: z.number(),
    latent_channels: z.number().int().positive(),
    spatial_scale: z.number().int().positive(),
  }),
  image: z.object({ multiple: z.number().int().positive(), max_size: z.number().int().positive() }),
});
export type Manifest = z.infer<typeof manifestSchema>;

export interface ModelDir {
  root: string;
  manifest: Manifest;
  /** Absolute path of a manifest-relative file. */
  resolve(relative: string): string;
}

export async function loadModelDir(root: string): Promise<ModelDir> {
  const file = path.join(root, 'zimage.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the model manifest ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return { root, manifest: parsed.data, resolve: (relative) => path.resolve(root, relative) };
}

/**
 * The file of a component for the wanted precision. GPU sessions take the requested precision
 * when exported, else fp32; CPU sessions always take fp32 (the CPU EP has no bf16 kernels and
 * only slow fp16 ones).
 */
export function pickFile(
  files: Partial<Record<FilePrecision, string>>,
  wanted: FilePrecision,
  component: string,
): { file: string; precision: FilePrecision } {
  for (const precision of [wanted, 'fp32'] as const) {
    const file = files[precision];
    if (file) return { file, precision };
  }
  throw new Error(`zimage.json: files.${component} has neither ${wanted} nor fp32`);
}
