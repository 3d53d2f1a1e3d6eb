/**
 * A multiset of numbers kept sorted, for a quantile over a sliding window read every second:
 * each value goes in and out once, and a high quantile is a short walk down from the top.
 * Sorting the window each second instead cost a third of a 23-day run. Values are kept once
 * with a count: engine seconds per image take a handful of values (sizes x steps), so adding
 * and removing is mostly a binary search and an increment.
 */
export class SortedValues {
  private readonly values: number[] = [];
  private readonly counts: number[] = [];
  private total = 0;

  get size(): number {
    return this.total;
  }

  add(value: number): void {
    const i = this.lowerBound(value);
    if (this.values[i] === value) this.counts[i]!++;
    else {
      this.values.splice(i, 0, value);
      this.counts.splice(i, 0, 1);
    }
    this.total++;
  }

  /** Remove one occurrence of `value` (a value never added is a caller's bug). */
  delete(value: number): void {
    const i = this.lowerBound(value);
    if (this.values[i] !== value) throw new Error(`SortedValues: ${value} was never added`);
    if (--this.counts[i]! === 0) {
      this.values.splice(i, 1);
      this.counts.splice(i, 1);
    }
    this.total--;
  }

  /**
   * The nearest-rank quantile, as quantile() in results.ts gives it: the value of rank
   * ceil(q x n), found from the top (for p95, past the highest 5%). Undefined when empty.
   */
  quantile(q: number): number | undefined {
    const n = this.total;
    if (n === 0) return undefined;
    const rank = Math.min(n, Math.max(1, Math.ceil(q * n)));
    let above = n;
    for (let i = this.values.length - 1; i >= 0; i--) {
      above -= this.counts[i]!;
      if (above < rank) return this.values[i];
    }
    return this.values[0];
  }

  /** The first index whose value is >= `value`. */
  private lowerBound(value: number): number {
    let lo = 0;
    let hi = this.values.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.values[mid]! < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
