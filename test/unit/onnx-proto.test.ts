/**
 * The ONNX schema of src/runtime/pipeline/onnx-proto.ts, judged twice: what the runtime's writer
 * encodes, the tests' reader decodes back to the same graph, and real ONNX Runtime (CPU EP) loads
 * the same bytes with the same inputs and outputs and runs them to the expected values.
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import protobuf from 'protobufjs/light.js';
import { describe, expect, it } from 'vitest';
import { attentionProbeGraph } from '../../src/runtime/pipeline/kernel-probe.ts';
import { dataLocation, decodeModel, encodeModel } from '../../src/runtime/pipeline/onnx-proto.ts';
import {
  onnxType,
  writeOnnxModel,
  type OnnxGraph,
} from '../../src/runtime/pipeline/onnx-writer.ts';
import { parseOnnxModel } from '../support/onnx-reader.ts';

/** x [2, N, 4] -> Transpose(perm 2,1,0) -> y [4, N, 2]: an INTS attribute, packed by protobufjs. */
const transpose: OnnxGraph = {
  inputs: [{ name: 'x', type: onnxType.float, shape: [2, 'N', 4] }],
  outputs: [{ name: 'y', type: onnxType.float, shape: [4, 'N', 2] }],
  nodes: [{ op: 'Transpose', inputs: ['x'], outputs: ['y'], attributes: { perm: [2, 1, 0] } }],
  opsets: { '': 18 },
};

const probe = (chain: number) =>
  attentionProbeGraph({ heads: 2, headDim: 8, precision: 'fp16' }, chain);

// [name, graph, feeds, what the single output must be]
const graphs: [string, OnnxGraph, Record<string, Tensor>, (out: Tensor) => void][] = [
  (() => {
    const x = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i);
    return [
      'an INTS attribute (Transpose perm), symbolic and fixed dims',
      transpose,
      { x: new Tensor('float32', x, [2, 3, 4]) },
      (y: Tensor) => {
        // y[c][n][a] = x[a][n][c]: y[0][0][1] = x[1][0][0] = 12, y[3][2][1] = x[1][2][3] = 23.
        expect(y.dims).toEqual([4, 3, 2]);
        expect(y.data[1]).toBe(12);
        expect(y.data[3 * 6 + 2 * 2 + 1]).toBe(23);
      },
    ];
  })(),
  ...[1, 3].map((chain): (typeof graphs)[number] => {
    // v's 8 tokens all carry the same row, so every attention output row is that row times the
    // softmax weights' sum, 1 up to fp16 rounding (2^-11 relative, 0.004 at |v| = 8).
    const row = Float32Array.from({ length: 16 }, (_, i) => i - 8);
    const v = new Float32Array(8 * 16).map((_, i) => row[i % 16] ?? 0);
    const qk = Float32Array.from({ length: 8 * 16 }, (_, i) => (i % 7) / 7);
    const t = (data: Float32Array) => new Tensor('float32', data, [1, 8, 16]);
    return [
      `the attention probe, fp16, chain ${String(chain)} (com.microsoft MultiHeadAttention)`,
      probe(chain),
      { q: t(qk), k: t(qk.slice().reverse()), v: t(v) },
      (out: Tensor) => {
        expect(out.dims).toEqual([1, 8, 16]);
        const data = out.data as Float32Array;
        expect(Math.max(...v.map((x, i) => Math.abs(x - (data[i] ?? NaN))))).toBeLessThan(0.01);
      },
    ];
  }),
];

describe('writeOnnxModel -> parseOnnxModel and ONNX Runtime', () => {
  it.each(graphs)('%s: read back as written', (_name, graph) => {
    const model = parseOnnxModel(writeOnnxModel(graph));
    expect(model.nodes).toEqual(
      graph.nodes.map((n) => ({
        opType: n.op,
        domain: n.domain ?? '',
        inputs: n.inputs,
        outputs: n.outputs,
      })),
    );
    expect(model.graphInputs).toEqual(graph.inputs.map((v) => v.name));
    expect(model.graphOutputs).toEqual(graph.outputs.map((v) => v.name));
    expect(model.opsets).toEqual(graph.opsets);
    expect(model.initializers.size).toBe(0);
  });

  it.each(graphs)('%s: ORT loads and runs it', async (_name, graph, feeds, check) => {
    const session = await InferenceSession.create(writeOnnxModel(graph), {
      executionProviders: ['cpu'],
    });
    try {
      expect(session.inputNames).toEqual(graph.inputs.map((v) => v.name));
      expect(session.outputNames).toEqual(graph.outputs.map((v) => v.name));
      const out = (await session.run(feeds))[graph.outputs[0]?.name ?? ''];
      expect(out?.type).toBe('float32');
      if (out) check(out);
    } finally {
      await session.release();
    }
  });

  it('types, shapes and attributes decode as written', () => {
    const graph = decodeModel(writeOnnxModel(transpose, 'perm-graph')).graph;
    expect(graph?.name).toBe('perm-graph');
    expect(graph?.node?.[0]?.attribute).toMatchObject([{ name: 'perm', ints: [2, 1, 0], type: 7 }]);
    expect(graph?.input?.[0]?.type?.tensor_type).toEqual({
      elem_type: onnxType.float,
      shape: { dim: [{ dim_value: 2 }, { dim_param: 'N' }, { dim_value: 4 }] },
    });
  });
});

describe('the ONNX reader', () => {
  const entry = (key: string, value: string) => ({ key, value });
  it('names the external data file of an initializer only where data_location is EXTERNAL', () => {
    const bytes = encodeModel({
      graph: {
        initializer: [
          { name: 'inline', dims: [2], data_type: onnxType.float, raw_data: new Uint8Array(8) },
          {
            name: 'external',
            data_location: dataLocation.EXTERNAL,
            external_data: [entry('location', 'weights.data'), entry('offset', '4096')],
          },
          // ORT ignores external_data unless data_location says EXTERNAL.
          { name: 'stray', external_data: [entry('location', 'unused.data')] },
        ],
      },
    });
    expect([...parseOnnxModel(bytes).initializers]).toEqual([
      ['inline', undefined],
      ['external', 'weights.data'],
      ['stray', undefined],
    ]);
  });

  it('skips fields the schema leaves out (ModelProto.functions, 25)', () => {
    const model = writeOnnxModel(transpose);
    const unknown = protobuf.Writer.create()
      .uint32((25 << 3) | 2)
      .bytes(Uint8Array.of(1, 2, 3))
      .finish();
    expect(parseOnnxModel(Buffer.concat([model, unknown]))).toEqual(parseOnnxModel(model));
  });

  // [name, bytes, message]
  const broken: [string, Uint8Array, RegExp][] = [
    ['a truncated graph field', Uint8Array.of(0x3a, 0x05, 1), /not an ONNX ModelProto \(3 bytes\)/],
    ['wire type 7', Uint8Array.of(0x0f), /not an ONNX ModelProto \(1 bytes\)/],
  ];
  it.each(broken)('refuses %s', (_name, bytes, message) => {
    expect(() => decodeModel(bytes)).toThrow(message);
  });
});

describe('encodeModel', () => {
  // [name, model, message naming the field]
  const invalid: [string, object, RegExp][] = [
    ['an op_type number', { graph: { node: [{ op_type: 5 }] } }, /graph\.node\.op_type: string/],
    [
      'a fractional dim',
      { graph: { input: [{ type: { tensor_type: { shape: { dim: [{ dim_value: 1.5 }] } } } }] } },
      /dim\.dim_value: integer/,
    ],
    [
      'both dim_value and dim_param',
      {
        graph: {
          input: [
            { type: { tensor_type: { shape: { dim: [{ dim_value: 1, dim_param: 'N' }] } } } },
          ],
        },
      },
      /dim\.value: multiple values/,
    ],
  ];
  it.each(invalid)('refuses %s, naming the field', (_name, model, message) => {
    expect(() => encodeModel(model as never)).toThrow(message);
  });
});
