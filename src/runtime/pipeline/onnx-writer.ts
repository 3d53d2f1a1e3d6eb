/**
 * A minimal ONNX model writer (nodes, int attributes, typed graph inputs and outputs; no
 * initializers), encoded by protobufjs with the schema of onnx-proto.ts. The runtime uses it for
 * the attention-kernel probe graph, which must match the model's heads and head size; the GPU
 * bench for its host-copy probe.
 */
import {
  attributeType,
  encodeModel,
  type AttributeProto,
  type NodeProto,
  type ValueInfoProto,
} from './onnx-proto.ts';

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

const valueInfo = (v: OnnxValue): ValueInfoProto => ({
  name: v.name,
  type: {
    tensor_type: {
      elem_type: v.type,
      shape: {
        dim: v.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })),
      },
    },
  },
});

const attribute = (name: string, value: number | number[]): AttributeProto =>
  Array.isArray(value)
    ? { name, ints: value, type: attributeType.INTS }
    : { name, i: value, type: attributeType.INT };

const node = (n: OnnxNode, index: number): NodeProto => ({
  input: n.inputs,
  output: n.outputs,
  name: `${n.op}_${index}`,
  op_type: n.op,
  attribute: Object.entries(n.attributes ?? {}).map(([name, value]) => attribute(name, value)),
  ...(n.domain ? { domain: n.domain } : {}),
});

/** Serialises a graph as an ONNX model (IR version 8), ready for InferenceSession.create(bytes). */
export function writeOnnxModel(graph: OnnxGraph, name = 'zimage-probe'): Uint8Array {
  return encodeModel({
    ir_version: 8,
    producer_name: 'zimage-operator',
    graph: {
      node: graph.nodes.map(node),
      name,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
    // ai.onnx is the empty domain, left unset as onnx.proto3's default.
    opset_import: Object.entries(graph.opsets).map(([domain, version]) =>
      domain ? { domain, version } : { version },
    ),
  });
}
