/**
 * Just enough of an ONNX ModelProto reader for tests to look at an exported graph: its nodes
 * (op type, domain, inputs, outputs), its initializers' names and external-data files, its
 * opsets. Protobuf by hand, field numbers from onnx.proto3 (as src/runtime/pipeline/onnx-writer.ts
 * writes them); tensor payloads are skipped, not decoded.
 */
import { readFileSync } from 'node:fs';

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

/** (field number, wire type, payload) of each field in one message. */
function* fields(
  buf: Uint8Array,
): Generator<{ field: number; wire: number; value: Uint8Array; n: bigint }> {
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[pos++];
      if (b === undefined) throw new Error('truncated protobuf varint');
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const field = key >> 3;
    const wire = key & 7;
    const none = new Uint8Array(0);
    if (wire === 0) yield { field, wire, value: none, n: varint() };
    else if (wire === 2) {
      const len = Number(varint());
      yield { field, wire, value: buf.subarray(pos, pos + len), n: 0n };
      pos += len;
    } else if (wire === 1 || wire === 5) {
      pos += wire === 1 ? 8 : 4;
      yield { field, wire, value: none, n: 0n };
    } else throw new Error(`unsupported protobuf wire type ${String(wire)}`);
  }
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

function node(buf: Uint8Array): OnnxNodeInfo {
  const n: OnnxNodeInfo = { opType: '', domain: '', inputs: [], outputs: [] };
  for (const f of fields(buf)) {
    if (f.field === 1) n.inputs.push(text(f.value));
    else if (f.field === 2) n.outputs.push(text(f.value));
    else if (f.field === 4) n.opType = text(f.value);
    else if (f.field === 7) n.domain = text(f.value);
  }
  return n;
}

function initializer(buf: Uint8Array): [string, string | undefined] {
  let name = '';
  let location: string | undefined;
  for (const f of fields(buf)) {
    if (f.field === 8) name = text(f.value);
    if (f.field !== 13) continue; // external_data: StringStringEntryProto {1: key, 2: value}
    const entry = [...fields(f.value)];
    const key = entry.find((e) => e.field === 1);
    const value = entry.find((e) => e.field === 2);
    if (key && value && text(key.value) === 'location') location = text(value.value);
  }
  return [name, location];
}

const valueName = (buf: Uint8Array) =>
  text([...fields(buf)].find((f) => f.field === 1)?.value ?? new Uint8Array(0));

export function readOnnxModel(file: string): OnnxModelInfo {
  const model: OnnxModelInfo = {
    nodes: [],
    initializers: new Map(),
    graphInputs: [],
    graphOutputs: [],
    opsets: {},
  };
  for (const f of fields(readFileSync(file))) {
    if (f.field === 8) {
      const parts = [...fields(f.value)];
      const domain = parts.find((p) => p.field === 1);
      model.opsets[domain ? text(domain.value) : ''] = Number(
        parts.find((p) => p.field === 2)?.n ?? 0n,
      );
    }
    if (f.field !== 7) continue;
    for (const g of fields(f.value)) {
      if (g.field === 1) model.nodes.push(node(g.value));
      else if (g.field === 5) model.initializers.set(...initializer(g.value));
      else if (g.field === 11) model.graphInputs.push(valueName(g.value));
      else if (g.field === 12) model.graphOutputs.push(valueName(g.value));
    }
  }
  return model;
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
