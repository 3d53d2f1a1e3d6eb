/**
 * The runtime's signals from direct scrapes of its pods: queue depth and in-flight (sums of
 * the pods' gauges) and the p95 generation latency from bucket deltas over a short window,
 * kept in a small ring of past scrapes per pod (Knative keeps per-pod stats the same way).
 * A pod whose scrape failed is stale: the value rests on the others, with a note; only when
 * every pod is stale is the signal missing (aibrix#1032: one pod must not block all).
 */
import { runtimeMetrics } from '../../../contract/metrics.ts';
import {
  addBuckets,
  bucketDelta,
  bucketsOf,
  observations,
  quantile,
  type Buckets,
} from '../histogram.ts';
import type { Failure } from '../http.ts';
import { missing, type Reading } from '../sample.ts';
import type { TextMetrics } from '../../../formats/prometheus-text.ts';

export type RuntimeSignal = 'queueDepth' | 'inflight' | 'latencyP95Seconds';

/** One pod's scrape this tick. */
export interface PodScrape {
  /** `namespace/pod`. */
  pod: string;
  result: { ok: true; metrics: TextMetrics } | Failure;
}

interface Entry {
  at: number;
  buckets: Buckets;
}

/** Entries kept per pod: 64 x 1 s covers a 60 s window; a shorter tick uses fewer seconds. */
const ringSize = 64;

/** Past generation-histogram scrapes per pod, pruned to the window. */
export class LatencyRing {
  private readonly rings = new Map<string, Entry[]>();
  private readonly windowMs: number;

  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  record(pod: string, at: number, buckets: Buckets): void {
    const ring = (this.rings.get(pod) ?? []).filter((e) => e.at >= at - this.windowMs && e.at < at);
    ring.push({ at, buckets });
    this.rings.set(pod, ring.slice(-ringSize));
  }

  /** Forget pods no longer scraped (gone, or of a deleted object). */
  keepOnly(pods: ReadonlySet<string>): void {
    for (const pod of this.rings.keys()) if (!pods.has(pod)) this.rings.delete(pod);
  }

  /** Observations between the oldest scrape in the window and `at`'s, if both exist. */
  delta(pod: string, at: number): { buckets: Buckets; spanMs: number } | undefined {
    const ring = (this.rings.get(pod) ?? []).filter((e) => e.at >= at - this.windowMs);
    const first = ring[0];
    const last = ring[ring.length - 1];
    if (!first || !last || first === last || last.at !== at) return undefined;
    return { buckets: bucketDelta(last.buckets, first.buckets), spanMs: last.at - first.at };
  }
}

export function sumGauge(scrapes: readonly PodScrape[], metric: string): number | undefined {
  let total: number | undefined;
  for (const s of scrapes) {
    if (!s.result.ok) continue;
    const samples = s.result.metrics.get(metric);
    if (!samples || samples.length === 0) continue;
    total = (total ?? 0) + samples.reduce((sum, x) => sum + x.value, 0);
  }
  return total;
}

export interface RuntimeContext {
  key: string;
  at: number;
  intervalSeconds: number;
  /** The generation histogram's ring (engine seconds per image). */
  ring: LatencyRing;
}

/** A reading's time and where it came from: the object, the tick. */
export type ReadingContext = Omit<RuntimeContext, 'ring'>;

export function staleNote(scrapes: readonly PodScrape[]): string | undefined {
  const failed = scrapes.filter((s) => !s.result.ok);
  if (failed.length === 0) return undefined;
  const why = failed.map((s) => `${s.pod}: ${s.result.ok ? '' : s.result.reason}`).join(', ');
  return `${failed.length} of ${scrapes.length} pods stale (${why}): value from the other ${scrapes.length - failed.length}`;
}

export function gauge(
  scrapes: readonly PodScrape[],
  metric: string,
  ctx: ReadingContext,
  note?: string,
): Reading {
  const value = sumGauge(scrapes, metric);
  if (value === undefined) return missing('NoData', `${ctx.key}: its pods serve no ${metric}`);
  if (!Number.isFinite(value))
    return missing(
      Number.isNaN(value) ? 'NotANumber' : 'Infinite',
      `${ctx.key}: ${metric} is ${value}`,
    );
  return {
    ok: true,
    value,
    at: ctx.at,
    intervalSeconds: ctx.intervalSeconds,
    ...(note ? { note } : {}),
  };
}

/** The p95 of a histogram's observations in the ring's window, over the scraped pods. */
export function p95InWindow(
  scrapes: readonly PodScrape[],
  ring: LatencyRing,
  ctx: ReadingContext,
  note?: string,
): Reading {
  let sum: Buckets | undefined;
  let spanMs = 0;
  for (const s of scrapes) {
    const d = s.result.ok ? ring.delta(s.pod, ctx.at) : undefined;
    if (!d) continue;
    sum = sum ? addBuckets(sum, d.buckets) : d.buckets;
    spanMs = Math.max(spanMs, d.spanMs);
  }
  if (!sum) {
    return missing(
      'WindowNotFilled',
      `${ctx.key}: no pod has an earlier scrape in the window yet (latency needs two)`,
    );
  }
  const window = spanMs / 1000;
  if (observations(sum) === 0) {
    return missing('NoObservations', `no image of ${ctx.key} finished in the last ${window} s`);
  }
  const value = quantile(0.95, sum);
  if (Number.isNaN(value))
    return missing('NotANumber', `${ctx.key}: its histogram has no +Inf bucket`);
  return {
    ok: true,
    value,
    at: ctx.at,
    intervalSeconds: ctx.intervalSeconds,
    windowSeconds: window,
    ...(note ? { note } : {}),
  };
}

/**
 * Record this tick's `histogram` (default: the generation histogram) in the ring (call once
 * per pod and tick, before reading).
 */
export function recordScrapes(
  ring: LatencyRing,
  scrapes: readonly PodScrape[],
  at: number,
  histogram: string = runtimeMetrics.generationDuration,
): void {
  for (const s of scrapes) {
    if (!s.result.ok) continue;
    const buckets = bucketsOf(s.result.metrics, histogram);
    if (buckets) ring.record(s.pod, at, buckets);
  }
}

/** Every pod failed its scrape: one Stale reason for each signal read from them. */
export function allStale(scrapes: readonly PodScrape[], what: string): Reading | undefined {
  if (scrapes.length === 0 || scrapes.some((s) => s.result.ok)) return undefined;
  const first = scrapes[0]!.result;
  const why = first.ok ? '' : `: ${first.message}`;
  return missing('Stale', `all ${scrapes.length} ${what} failed their scrape${why}`);
}

/** The runtime signals of one object from its pods' scrapes this tick. */
export function runtimeReadings(
  scrapes: readonly PodScrape[],
  ctx: RuntimeContext,
): Record<RuntimeSignal, Reading> {
  const stale = allStale(scrapes, `pods of ${ctx.key}`);
  if (stale) return { queueDepth: stale, inflight: stale, latencyP95Seconds: stale };
  const note = staleNote(scrapes);
  return {
    queueDepth: gauge(scrapes, runtimeMetrics.queueDepth, ctx, note),
    inflight: gauge(scrapes, runtimeMetrics.inflight, ctx, note),
    latencyP95Seconds: p95InWindow(scrapes, ctx.ring, ctx, note),
  };
}
