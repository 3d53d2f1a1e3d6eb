/**
 * Just enough of an ONNX model for tests to look at an exported graph: its nodes (op type,
 * domain, inputs, outputs), its initializers' names and external-data files, its graph inputs and
 * outputs, its opsets. Decoded by protobufjs with the schema the runtime's writer encodes with
 * (src/runtime/pipeline/onnx-proto.ts).
 */
import { readFileSync } from 'node:fs';
import {
  dataLocation,
  decodeModel,
  type TensorProto,
} from '../../src/runtime/pipeline/onnx-proto.ts';

export interface OnnxNodeInfo {
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
}

export interface OnnxModelInfo {
  nodes: OnnxNodeInfo[];
  /** Initializer name -> the external data file it names (undefined: stored in the graph). */
  initializers: Map<string, string | undefined>;
  graphInputs: string[];
  graphOutputs: string[];
  opsets: Record<string, number>;
}

// ORT loads external data only where data_location says EXTERNAL, whatever external_data holds.
const location = (t: TensorProto) =>
  t.data_location === dataLocation.EXTERNAL
    ? t.external_data?.find((e) => e.key === 'location')?.value
    : undefined;

export function readOnnxModel(file: string): OnnxModelInfo {
  return parseOnnxModel(readFileSync(file));
}

export function parseOnnxModel(bytes: Uint8Array): OnnxModelInfo {
  const { graph = {}, opset_import = [] } = decodeModel(bytes);
  return {
    nodes: (graph.node ?? []).map((n) => ({
      opType: n.op_type ?? '',
      domain: n.domain ?? '',
      inputs: n.input ?? [],
      outputs: n.output ?? [],
    })),
    initializers: new Map((graph.initializer ?? []).map((t) => [t.name ?? '', location(t)])),
    graphInputs: (graph.input ?? []).map((v) => v.name ?? ''),
    graphOutputs: (graph.output ?? []).map((v) => v.name ?? ''),
    opsets: Object.fromEntries(opset_import.map((o) => [o.domain ?? '', o.version ?? 0])),
  };
}

/** How many nodes of each `domain:opType` ('' domain written as ai.onnx's bare op type). */
export function opCounts(model: OnnxModelInfo): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of model.nodes) {
    const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}:${n.opType}` : n.opType;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
