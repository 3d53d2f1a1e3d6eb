/**
 * The part of ONNX's onnx.proto3 this project writes and reads, declared once as a protobufjs
 * descriptor: onnx-writer.ts encodes the probe graphs with it, test/support/onnx-reader.ts
 * decodes exported models with it, and the TypeScript types below are derived from it, so the
 * names, numbers and types cannot drift apart. Names and numbers are onnx.proto3's. Whatever is
 * left out (FunctionProto, SparseTensorProto, TrainingInfoProto, TensorProto's typed *_data
 * arrays, ...) is an unknown field to protobufjs and skipped on decode.
 */
import protobuf from 'protobufjs/light.js';

const one = <T extends string>(type: T, id: number) => ({ type, id });
const many = <T extends string>(type: T, id: number) => ({ type, id, rule: 'repeated' as const });

const messages = {
  ModelProto: {
    fields: {
      ir_version: one('int64', 1),
      producer_name: one('string', 2),
      producer_version: one('string', 3),
      domain: one('string', 4),
      model_version: one('int64', 5),
      doc_string: one('string', 6),
      graph: one('GraphProto', 7),
      opset_import: many('OperatorSetIdProto', 8),
      metadata_props: many('StringStringEntryProto', 14),
    },
  },
  OperatorSetIdProto: {
    fields: { domain: one('string', 1), version: one('int64', 2) },
  },
  StringStringEntryProto: {
    fields: { key: one('string', 1), value: one('string', 2) },
  },
  GraphProto: {
    fields: {
      node: many('NodeProto', 1),
      name: one('string', 2),
      initializer: many('TensorProto', 5),
      doc_string: one('string', 10),
      input: many('ValueInfoProto', 11),
      output: many('ValueInfoProto', 12),
      value_info: many('ValueInfoProto', 13),
      metadata_props: many('StringStringEntryProto', 16),
    },
  },
  NodeProto: {
    fields: {
      input: many('string', 1),
      output: many('string', 2),
      name: one('string', 3),
      op_type: one('string', 4),
      attribute: many('AttributeProto', 5),
      doc_string: one('string', 6),
      domain: one('string', 7),
      overload: one('string', 8),
      metadata_props: many('StringStringEntryProto', 9),
    },
  },
  AttributeProto: {
    fields: {
      name: one('string', 1),
      f: one('float', 2),
      i: one('int64', 3),
      s: one('bytes', 4),
      t: one('TensorProto', 5),
      g: one('GraphProto', 6),
      floats: many('float', 7),
      ints: many('int64', 8),
      strings: many('bytes', 9),
      tensors: many('TensorProto', 10),
      graphs: many('GraphProto', 11),
      doc_string: one('string', 13),
      tp: one('TypeProto', 14),
      type: one('AttributeProto.AttributeType', 20),
      ref_attr_name: one('string', 21),
    },
    nested: {
      AttributeType: {
        values: {
          UNDEFINED: 0,
          FLOAT: 1,
          INT: 2,
          STRING: 3,
          TENSOR: 4,
          GRAPH: 5,
          FLOATS: 6,
          INTS: 7,
          STRINGS: 8,
          TENSORS: 9,
          GRAPHS: 10,
          SPARSE_TENSOR: 11,
          SPARSE_TENSORS: 12,
          TYPE_PROTO: 13,
          TYPE_PROTOS: 14,
        },
      },
    },
  },
  ValueInfoProto: {
    fields: {
      name: one('string', 1),
      type: one('TypeProto', 2),
      doc_string: one('string', 3),
      metadata_props: many('StringStringEntryProto', 4),
    },
  },
  TypeProto: {
    // sequence_type (4), map_type (5), opaque_type (7), sparse_tensor_type (8), optional_type (9)
    // left out.
    fields: { tensor_type: one('TypeProto.Tensor', 1), denotation: one('string', 6) },
    oneofs: { value: { oneof: ['tensor_type'] } },
    nested: {
      Tensor: {
        // elem_type is a TensorProto.DataType value, declared int32 in onnx.proto3.
        fields: { elem_type: one('int32', 1), shape: one('TensorShapeProto', 2) },
      },
    },
  },
  TensorShapeProto: {
    fields: { dim: many('TensorShapeProto.Dimension', 1) },
    nested: {
      Dimension: {
        fields: {
          dim_value: one('int64', 1),
          dim_param: one('string', 2),
          denotation: one('string', 3),
        },
        oneofs: { value: { oneof: ['dim_value', 'dim_param'] } },
      },
    },
  },
  TensorProto: {
    fields: {
      dims: many('int64', 1),
      data_type: one('int32', 2),
      name: one('string', 8),
      raw_data: one('bytes', 9),
      doc_string: one('string', 12),
      external_data: many('StringStringEntryProto', 13),
      data_location: one('TensorProto.DataLocation', 14),
      metadata_props: many('StringStringEntryProto', 16),
    },
    nested: { DataLocation: { values: { DEFAULT: 0, EXTERNAL: 1 } } },
  },
} satisfies Record<string, protobuf.IType>;

/** AttributeProto.AttributeType and TensorProto.DataLocation, from the descriptor above. */
export const attributeType = messages.AttributeProto.nested.AttributeType.values;
export const dataLocation = messages.TensorProto.nested.DataLocation.values;

type Messages = typeof messages;
/** protobufjs's JS types for these scalars (int64 as a number: decode asks for longs: Number). */
interface Scalars {
  string: string;
  bytes: Uint8Array;
  int32: number;
  int64: number;
  float: number;
}
type Declared<N> = N extends `${infer Outer extends keyof Messages}.${infer Inner}`
  ? Messages[Outer] extends { nested: infer Nested }
    ? Nested[Inner & keyof Nested]
    : never
  : Messages[N & keyof Messages];
type Value<N> = N extends keyof Scalars
  ? Scalars[N]
  : Declared<N> extends { values: object }
    ? number
    : Message<Declared<N>>;
/** A plain object of a declared message: every field optional, repeated fields arrays. */
type Message<D> = D extends { fields: infer F }
  ? {
      [K in keyof F]?: F[K] extends { type: infer N; rule: 'repeated' }
        ? Value<N>[]
        : F[K] extends { type: infer N }
          ? Value<N>
          : never;
    }
  : never;

export type ModelProto = Message<Messages['ModelProto']>;
export type GraphProto = Message<Messages['GraphProto']>;
export type NodeProto = Message<Messages['NodeProto']>;
export type AttributeProto = Message<Messages['AttributeProto']>;
export type ValueInfoProto = Message<Messages['ValueInfoProto']>;
export type TensorProto = Message<Messages['TensorProto']>;

const model = protobuf.Root.fromJSON({ nested: { onnx: { nested: messages } } }).lookupType(
  'onnx.ModelProto',
);

/** Serialises a ModelProto; a field of the wrong type is refused by its path (graph.node.op_type). */
export function encodeModel(value: ModelProto): Uint8Array {
  const problem = model.verify(value);
  if (problem) throw new Error(`invalid ONNX ModelProto: ${problem}`);
  return model.encode(value).finish();
}

/** Parses a serialised ModelProto: int64s as numbers, absent repeated fields as []. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  let message: protobuf.Message;
  try {
    message = model.decode(bytes);
  } catch (err) {
    throw new Error(`not an ONNX ModelProto (${bytes.length} bytes)`, { cause: err });
  }
  // toObject is untyped ({[k: string]: any}); its shape is the descriptor's, as ModelProto is.
  return model.toObject(message, { longs: Number, arrays: true });
}
