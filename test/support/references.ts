/** Reads the tiny fixture's diffusers reference tensors (tools/export/references.py). */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { tinyModelDir } from '../../dev/paths.ts';

export { tinyModelDir };

interface Entry {
  dtype: 'float32' | 'int64' | 'uint8' | 'float64';
  shape: number[];
  file: string;
}
interface Manifest {
  prompt: string;
  height: number;
  width: number;
  steps: number;
  tensors: Record<string, Entry>;
}

const refDir = path.join(tinyModelDir, 'references');
export const referenceMeta = JSON.parse(
  readFileSync(path.join(refDir, 'manifest.json'), 'utf8'),
) as Manifest;

export function reference(name: string): {
  data: Float32Array | BigInt64Array | Uint8Array;
  shape: number[];
} {
  const entry = referenceMeta.tensors[name];
  if (!entry) throw new Error(`no reference tensor ${name}`);
  const bytes = readFileSync(path.join(refDir, entry.file));
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const data =
    entry.dtype === 'float32'
      ? new Float32Array(buf)
      : entry.dtype === 'int64'
        ? new BigInt64Array(buf)
        : entry.dtype === 'uint8'
          ? new Uint8Array(buf)
          : Float32Array.from(new Float64Array(buf));
  return { data, shape: entry.shape };
}

export function referenceF32(name: string): Float32Array {
  const { data } = reference(name);
  if (!(data instanceof Float32Array)) throw new Error(`${name} is not float32`);
  return data;
}

/** max |a - b| / max |b| */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
    scale = Math.max(scale, Math.abs(b[i] ?? 0));
  }
  return diff / scale;
}
