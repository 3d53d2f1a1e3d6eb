/**
 * A trace held as columns. A TraceRow object costs ~140 bytes (the row, its size object, a boxed
 * offset): 6M requests, 23 days of a 3-pod load on H100s, take ~830 MB as objects and 84 MB
 * here (8 bytes of offset, 4 of size index, 1 of steps, 1 of n). Rows come back out as fresh
 * objects, which live only while an arrival is handled.
 */
import type { TraceRow } from './trace-csv.ts';

/** What the simulator reads of a trace: rows in time order, by index, and how many. */
export interface Trace extends Iterable<TraceRow> {
  readonly length: number;
  /** The row at `index`; negative counts from the end, as Array.prototype.at. */
  at(index: number): TraceRow | undefined;
}

const unset = 0;

export class PackedTrace implements Trace {
  length = 0;
  private offsets = new Float64Array(1024);
  /** 1 + index into `sizes`; 0 when the row names no size. */
  private sizeOf = new Uint32Array(1024);
  /** 0 when the row names none (steps are 1-50, n 1-16: both fit a byte). */
  private steps = new Uint8Array(1024);
  private n = new Uint8Array(1024);
  private readonly sizes: { width: number; height: number }[] = [];
  private readonly sizeIndex = new Map<string, number>();

  static from(rows: Iterable<TraceRow>): PackedTrace {
    const packed = new PackedTrace();
    for (const row of rows) packed.push(row);
    return packed;
  }

  push(row: TraceRow): void {
    if (this.length === this.offsets.length) this.grow();
    const i = this.length++;
    this.offsets[i] = row.offsetSeconds;
    this.sizeOf[i] = row.size ? this.internSize(row.size) : unset;
    this.steps[i] = row.steps ?? unset;
    this.n[i] = row.n ?? unset;
  }

  at(index: number): TraceRow | undefined {
    const i = index < 0 ? this.length + index : index;
    if (i < 0 || i >= this.length) return undefined;
    const row: TraceRow = { offsetSeconds: this.offsets[i]! };
    const size = this.sizeOf[i]!;
    if (size !== unset) row.size = { ...this.sizes[size - 1]! };
    if (this.steps[i] !== unset) row.steps = this.steps[i]!;
    if (this.n[i] !== unset) row.n = this.n[i]!;
    return row;
  }

  *[Symbol.iterator](): Iterator<TraceRow> {
    for (let i = 0; i < this.length; i++) yield this.at(i)!;
  }

  private internSize(size: { width: number; height: number }): number {
    const key = `${size.width}x${size.height}`;
    let index = this.sizeIndex.get(key);
    if (index === undefined) {
      index = this.sizes.push({ width: size.width, height: size.height });
      this.sizeIndex.set(key, index);
    }
    return index;
  }

  /** Doubling: amortized O(1) a row, and at most twice the rows' bytes held. */
  private grow(): void {
    const widen = <A extends Float64Array | Uint32Array | Uint8Array>(
      a: A,
      make: (n: number) => A,
    ) => {
      const b = make(a.length * 2);
      b.set(a);
      return b;
    };
    this.offsets = widen(this.offsets, (n) => new Float64Array(n));
    this.sizeOf = widen(this.sizeOf, (n) => new Uint32Array(n));
    this.steps = widen(this.steps, (n) => new Uint8Array(n));
    this.n = widen(this.n, (n) => new Uint8Array(n));
  }
}

/** Images the trace asks for: the sum of n, an empty n being the server's one. */
export function imagesOf(trace: Iterable<TraceRow>, defaultN = 1): number {
  let images = 0;
  for (const row of trace) images += row.n ?? defaultN;
  return images;
}
