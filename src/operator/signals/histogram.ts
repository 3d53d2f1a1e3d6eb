/**
 * Cumulative histogram buckets from the text format, their deltas between two scrapes, and a
 * quantile with Prometheus's histogram_quantile semantics, so a p95 from direct scrapes and
 * one from `histogram_quantile(0.95, rate(..._bucket[w]))` agree on the same data.
 */
import type { TextMetrics } from '../../formats/prometheus-text.ts';

/** Cumulative counts by upper bound, ascending, ending with +Inf. */
export type Buckets = { le: number; count: number }[];

/** `<name>_bucket` of one body, summed over its series (as `sum by (le)`). */
export function bucketsOf(metrics: TextMetrics, name: string): Buckets | undefined {
  const samples = metrics.get(`${name}_bucket`);
  if (!samples || samples.length === 0) return undefined;
  const byLe = new Map<number, number>();
  for (const s of samples) {
    const le = s.labels['le'] === '+Inf' ? Infinity : Number(s.labels['le']);
    if (Number.isNaN(le)) continue;
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  return [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

function sameBounds(a: Buckets, b: Buckets): boolean {
  return a.length === b.length && a.every((x, i) => x.le === b[i]!.le);
}

/**
 * Observations between `before` and `after`. A count that went down means the runtime
 * restarted (counters start at 0 again): as Prometheus's rate() does on a reset, the new
 * counts are the increase. So are counts under changed bounds (a new runtime version).
 */
export function bucketDelta(after: Buckets, before: Buckets): Buckets {
  if (!sameBounds(after, before)) return after;
  const reset = after.some((b, i) => b.count < before[i]!.count);
  return reset ? after : after.map((b, i) => ({ le: b.le, count: b.count - before[i]!.count }));
}

/** Bucket-wise sum of histograms with the same bounds (several pods of one object). */
export function addBuckets(a: Buckets, b: Buckets): Buckets {
  if (!sameBounds(a, b)) {
    const byLe = new Map<number, number>();
    for (const x of [...a, ...b]) byLe.set(x.le, (byLe.get(x.le) ?? 0) + x.count);
    return [...byLe].map(([le, count]) => ({ le, count })).sort((x, y) => x.le - y.le);
  }
  return a.map((x, i) => ({ le: x.le, count: x.count + b[i]!.count }));
}

/** Observations in the histogram (its +Inf bucket). */
export function observations(buckets: Buckets): number {
  const last = buckets[buckets.length - 1];
  return last && last.le === Infinity ? last.count : 0;
}

/**
 * The q-quantile, linearly interpolated inside its bucket (lower bound 0 for the first
 * bucket). NaN without observations or without a +Inf bucket; a rank in the +Inf bucket
 * gives the highest finite bound, as histogram_quantile does. E.g. 20 images in (1, 2]:
 * rank 0.95 x 20 = 19 of 20 in that bucket -> 1 + 1 x 19/20 = 1.95 s.
 */
export function quantile(q: number, buckets: Buckets): number {
  const total = observations(buckets);
  if (buckets.length < 2 || total === 0) return NaN;
  // Counts can dip between series scraped at slightly different moments: keep them monotone.
  let running = 0;
  const mono = buckets.map((b) => ({ le: b.le, count: (running = Math.max(running, b.count)) }));
  const rank = q * total;
  const i = mono.findIndex((b) => b.count >= rank);
  const bucket = mono[i]!;
  if (bucket.le === Infinity) return mono[mono.length - 2]!.le;
  const lower = i === 0 ? 0 : mono[i - 1]!.le;
  const below = i === 0 ? 0 : mono[i - 1]!.count;
  if (i === 0 && bucket.le <= 0) return bucket.le;
  const inBucket = bucket.count - below;
  return inBucket === 0 ? bucket.le : lower + (bucket.le - lower) * ((rank - below) / inBucket);
}
