/**
 * The committed tiny model is what the exporter writes now: its fused transformer graph carries
 * tools/export/fuse_graph.py's rewrites (every RMSNorm one SimplifiedLayerNormalization, every
 * RoPE one com.microsoft.RotaryEmbedding, none of the decomposed chains left), the unfused graph
 * is the plain export, zimage.json says so, and no file is left over or missing. That the
 * rewritten graph computes what diffusers does is test/runtime/parity.test.ts's business.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModelDir } from '../../src/runtime/pipeline/model-dir.ts';
import { tinyModelDir } from '../support/references.ts';
import { opCounts, readOnnxModel } from '../support/onnx-reader.ts';

const model = await loadModelDir(tinyModelDir);
const { transformer, files } = model.manifest;
const graphs = {
  fused: readOnnxModel(model.resolve(files.transformer.fused.fp32 ?? '')),
  unfused: readOnnxModel(model.resolve(files.transformer.unfused.fp32 ?? '')),
};
const counts = { fused: opCounts(graphs.fused), unfused: opCounts(graphs.unfused) };

// The tiny fixture: 2 main blocks + 1 noise refiner + 1 context refiner = 4 blocks, each with 6
// RMSNorms (attention_norm1/2, ffn_norm1/2, q and k norms) and RoPE on q and k; plus the caption
// embedder's RMSNorm: 25 norms, 8 RoPEs (what fuse_graph matched when the fixture was exported).
const shape = (
  JSON.parse(readFileSync(path.join(tinyModelDir, 'zimage.json'), 'utf8')) as {
    transformer: { layers: number; refiner_layers: number };
  }
).transformer;
const blocks = shape.layers + 2 * shape.refiner_layers;
const norms = 6 * blocks + 1;
const ropes = 2 * blocks;

describe('the tiny fixture transformer graphs', () => {
  const rows: [string, 'fused' | 'unfused', string, number][] = [
    [
      'fused: RMSNorm as SimplifiedLayerNormalization',
      'fused',
      'SimplifiedLayerNormalization',
      norms,
    ],
    ['fused: RoPE as RotaryEmbedding', 'fused', 'com.microsoft:RotaryEmbedding', ropes],
    ['fused: attention as MultiHeadAttention', 'fused', 'com.microsoft:MultiHeadAttention', blocks],
    // The RMSNorm chain Pow -> ReduceMean -> Add -> Sqrt -> Reciprocal -> Mul and RoPE's pair
    // Gathers and Sub are gone (the tiny fixture has no other Pow, ReduceMean, Sqrt, Gather, Sub).
    ...['Pow', 'ReduceMean', 'Sqrt', 'Reciprocal', 'Gather', 'Sub'].map(
      (op): [string, 'fused', string, number] => [`fused: no ${op} left`, 'fused', op, 0],
    ),
    ['unfused: RMSNorm decomposed (Pow)', 'unfused', 'Pow', norms],
    ['unfused: RMSNorm decomposed (ReduceMean)', 'unfused', 'ReduceMean', norms],
    ['unfused: RMSNorm decomposed (Reciprocal)', 'unfused', 'Reciprocal', norms],
    ['unfused: RoPE decomposed (2 pair Gathers each)', 'unfused', 'Gather', 2 * ropes],
    ['unfused: RoPE decomposed (Sub)', 'unfused', 'Sub', ropes],
    ...[
      'SimplifiedLayerNormalization',
      'com.microsoft:RotaryEmbedding',
      'com.microsoft:MultiHeadAttention',
    ].map((op): [string, 'unfused', string, number] => [`unfused: no ${op}`, 'unfused', op, 0]),
  ];
  it.each(rows)('%s', (_name, variant, op, expected) => {
    expect(counts[variant][op] ?? 0).toBe(expected);
  });

  it('zimage.json records the rewrites the fused graph has', () => {
    expect(transformer.fused_graph_rewrites).toEqual(['simplified_layer_norm', 'rotary_embedding']);
  });

  it.each(['fused', 'unfused'] as const)(
    '%s: every node input is a node output, an initializer or a graph input',
    (variant) => {
      const g = graphs[variant];
      const known = new Set([
        ...g.nodes.flatMap((n) => n.outputs),
        ...g.initializers.keys(),
        ...g.graphInputs,
      ]);
      const dangling = g.nodes.flatMap((n) => n.inputs.filter((i) => i && !known.has(i)));
      expect(dangling).toEqual([]);
    },
  );

  it('every file in the component folders is named by zimage.json or a graph, and exists', () => {
    const named = new Set<string>();
    for (const byPrecision of [
      files.text_encoder,
      files.vae_decoder,
      files.transformer.fused,
      files.transformer.unfused,
    ])
      for (const rel of Object.values(byPrecision)) {
        named.add(rel);
        for (const location of readOnnxModel(model.resolve(rel)).initializers.values())
          if (location) named.add(path.posix.join(path.posix.dirname(rel), location));
      }
    const present = ['text_encoder', 'transformer', 'vae_decoder'].flatMap((dir) =>
      readdirSync(path.join(tinyModelDir, dir)).map((f) => `${dir}/${f}`),
    );
    expect(present.sort()).toEqual([...named].sort());
  });
});
