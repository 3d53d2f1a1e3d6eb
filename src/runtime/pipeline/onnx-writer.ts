/**
 * A minimal ONNX ModelProto writer (protobuf by hand: nodes, int attributes, typed graph inputs
 * and outputs; no initializers). The runtime uses it for the attention-kernel probe graph, which
 * must match the model's heads and head size; the GPU bench for its host-copy probe. Field
 * numbers are onnx.proto3's.
 */

/** ONNX TensorProto.DataType values used here. */
export const onnxType = { float: 1, bool: 9, float16: 10, bfloat16: 16 } as const;
export type OnnxType = (typeof onnxType)[keyof typeof onnxType];

export interface OnnxValue {
  name: string;
  type: OnnxType;
  /** A number is a fixed size, a string a symbolic (dynamic) one. */
  shape: (number | string)[];
}

export interface OnnxNode {
  op: string;
  domain?: string;
  inputs: string[];
  outputs: string[];
  /** Integer (or list-of-integer) attributes only: num_heads, to, keepdims. */
  attributes?: Record<string, number | number[]>;
}

export interface OnnxGraph {
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  nodes: OnnxNode[];
  /** Opsets by domain ('' = ai.onnx), e.g. { '': 18, 'com.microsoft': 1 }. */
  opsets: Record<string, number>;
}

class Writer {
  readonly bytes: number[] = [];

  varint(value: number): this {
    let v = BigInt(value);
    if (v < 0n) v += 1n << 64n; // int64 two's complement, as protobuf encodes negatives
    do {
      const low = Number(v & 0x7fn);
      v >>= 7n;
      this.bytes.push(v > 0n ? low | 0x80 : low);
    } while (v > 0n);
    return this;
  }

  int(field: number, value: number): this {
    return this.varint(field << 3).varint(value);
  }

  raw(field: number, data: Uint8Array | number[]): this {
    this.varint((field << 3) | 2).varint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }

  str(field: number, text: string): this {
    return this.raw(field, new TextEncoder().encode(text));
  }

  msg(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.raw(field, inner.bytes);
  }
}

function valueInfo(w: Writer, v: OnnxValue): void {
  w.str(1, v.name).msg(2, (type) =>
    type.msg(1, (tensor) =>
      tensor.int(1, v.type).msg(2, (shape) => {
        for (const d of v.shape)
          shape.msg(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.str(2, d)));
      }),
    ),
  );
}

function node(w: Writer, n: OnnxNode, index: number): void {
  for (const i of n.inputs) w.str(1, i);
  for (const o of n.outputs) w.str(2, o);
  w.str(3, `${n.op}_${index}`).str(4, n.op);
  for (const [name, value] of Object.entries(n.attributes ?? {})) {
    w.msg(5, (a) => {
      a.str(1, name);
      if (Array.isArray(value)) {
        for (const v of value) a.int(8, v);
        a.int(20, 7); // AttributeType INTS
      } else a.int(3, value).int(20, 2); // AttributeType INT
    });
  }
  if (n.domain) w.str(7, n.domain);
}

/** Serialises a graph as an ONNX model (IR version 8), ready for InferenceSession.create(bytes). */
export function writeOnnxModel(graph: OnnxGraph, name = 'zimage-probe'): Uint8Array {
  const w = new Writer().int(1, 8).str(2, 'zimage-operator');
  w.msg(7, (g) => {
    graph.nodes.forEach((n, i) => g.msg(1, (nw) => node(nw, n, i)));
    g.str(2, name);
    for (const v of graph.inputs) g.msg(11, (vw) => valueInfo(vw, v));
    for (const v of graph.outputs) g.msg(12, (vw) => valueInfo(vw, v));
  });
  for (const [domain, version] of Object.entries(graph.opsets))
    w.msg(8, (o) => (domain ? o.str(1, domain) : o).int(2, version));
  return Uint8Array.from(w.bytes);
}
