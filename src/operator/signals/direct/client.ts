/**
 * The client's side of an object from direct scrapes: the wait per image (p95) and, with the
 * router on, what waits in the routers and what arrives. With routers (spec.router.enabled)
 * they are read from each router pod's /metrics; without, the client's wait is what a client of
 * the pods waits, the runtime's request duration (queue + generation), and the router signals
 * are NotConfigured. A router whose scrape failed is stale, as a runtime pod is (runtime.ts).
 */
import { routerMetrics, runtimeMetrics } from '../../../contract/metrics.ts';
import { routerSignals, type RouterSignal } from '../../api/v1alpha1/signals.ts';
import { observations, type Buckets } from '../histogram.ts';
import {
  defaultDemandWindows,
  eachOf,
  missing,
  type DemandWindows,
  type Reading,
} from '../sample.ts';
import type { CounterRing } from './counter-ring.ts';
import {
  allStale,
  gauge,
  p95InWindow,
  recordScrapes,
  staleNote,
  sumGauge,
  type LatencyRing,
  type PodScrape,
  type ReadingContext,
} from './runtime.ts';

export type ClientSignal = 'waitP95Seconds' | RouterSignal;

/** Past scrapes the client signals rest on, one ring each (same window). */
export interface ClientRings {
  /** The routers' client-wait histogram. */
  wait: LatencyRing;
  /** The runtime pods' request-duration histogram (the wait without a router). */
  requests: LatencyRing;
  /** The routers' arrived-images counter, as a one-bucket histogram (see recordCounter). */
  arrivals: LatencyRing;
  /** The routers' arrived-work counter, over the demand windows (minutes). */
  work: CounterRing;
}

/**
 * A counter kept as a histogram of one +Inf bucket: the ring's delta then handles a restart
 * (a count that went down is the increase, as rate() does) and observations() is the increase.
 */
function recordCounter(
  ring: LatencyRing,
  scrapes: readonly PodScrape[],
  at: number,
  metric: string,
) {
  for (const s of scrapes) {
    if (!s.result.ok) continue;
    const samples = s.result.metrics.get(metric);
    if (!samples || samples.length === 0) continue;
    const count = samples.reduce((sum, x) => sum + x.value, 0);
    const buckets: Buckets = [{ le: Infinity, count }];
    ring.record(s.pod, at, buckets);
  }
}

/** Record this tick's scrapes (once per tick, before reading). */
export function recordClientScrapes(
  rings: ClientRings,
  pods: readonly PodScrape[],
  routers: readonly PodScrape[],
  at: number,
): void {
  recordScrapes(rings.requests, pods, at, runtimeMetrics.requestDuration);
  recordScrapes(rings.wait, routers, at, routerMetrics.wait);
  recordCounter(rings.arrivals, routers, at, routerMetrics.arrivedImages);
  for (const r of routers) {
    const value = r.result.ok ? sumGauge([r], routerMetrics.arrivedWork) : undefined;
    if (value !== undefined) rings.work.record(r.pod, at, value);
  }
}

/** One router's increase of a counter and the span it covers (undefined: not two scrapes). */
type Increase = (scrape: PodScrape) => { value: number; spanMs: number } | undefined;

/** Per second, summed over the routers that have two scrapes in the window. */
function summedRate(
  scrapes: readonly PodScrape[],
  increase: Increase,
  ctx: ReadingContext,
  note?: string,
): Reading {
  let rate: number | undefined;
  let spanMs = 0;
  for (const s of scrapes) {
    const d = s.result.ok ? increase(s) : undefined;
    if (!d || d.spanMs <= 0) continue;
    rate = (rate ?? 0) + d.value / (d.spanMs / 1000);
    spanMs = Math.max(spanMs, d.spanMs);
  }
  if (rate === undefined)
    return missing(
      'WindowNotFilled',
      `${ctx.key}: no router has an earlier scrape in the window yet (a rate needs two)`,
    );
  return {
    ok: true,
    value: rate,
    at: ctx.at,
    intervalSeconds: ctx.intervalSeconds,
    windowSeconds: spanMs / 1000,
    ...(note ? { note } : {}),
  };
}

/**
 * Engine seconds arriving per second over `seconds`: the demand in GPUs kept busy
 * (policy/demand.ts).
 */
const workRate = (
  scrapes: readonly PodScrape[],
  ring: CounterRing,
  ctx: ReadingContext,
  seconds: number,
  note?: string,
) => summedRate(scrapes, (s) => ring.increase(s.pod, ctx.at, seconds * 1000), ctx, note);

/** Images per second over the ring's window. */
function arrivalRate(
  scrapes: readonly PodScrape[],
  ring: LatencyRing,
  ctx: ReadingContext,
  note?: string,
): Reading {
  const increase: Increase = (s) => {
    const d = ring.delta(s.pod, ctx.at);
    return d && { value: observations(d.buckets), spanMs: d.spanMs };
  };
  return summedRate(scrapes, increase, ctx, note);
}

const clientSignals: readonly ClientSignal[] = ['waitP95Seconds', ...routerSignals];
const same = (reading: Reading) => eachOf(clientSignals, reading);

/**
 * The client signals of one object. `routers` is undefined while the object runs no router,
 * and the routers' scrapes (possibly none running yet) while it does.
 */
export function clientReadings(
  pods: readonly PodScrape[],
  routers: readonly PodScrape[] | undefined,
  rings: ClientRings,
  ctx: ReadingContext,
  windows: DemandWindows = defaultDemandWindows,
): Record<ClientSignal, Reading> {
  if (routers === undefined) {
    const off = missing('NotConfigured', `${ctx.key} runs no router (spec.router.enabled: false)`);
    const wait =
      allStale(pods, `pods of ${ctx.key}`) ??
      p95InWindow(pods, rings.requests, ctx, staleNote(pods));
    return { ...same(off), waitP95Seconds: wait };
  }
  if (routers.length === 0) {
    return same(missing('NoPods', `${ctx.key} has no running router with an IP`));
  }
  const stale = allStale(routers, `routers of ${ctx.key}`);
  if (stale) return same(stale);
  const note = staleNote(routers);
  return {
    waitP95Seconds: p95InWindow(routers, rings.wait, ctx, note),
    routerQueuedImages: gauge(routers, routerMetrics.queuedImages, ctx, note),
    routerQueuedWorkSeconds: gauge(routers, routerMetrics.queuedWork, ctx, note),
    arrivedImagesPerSecond: arrivalRate(routers, rings.arrivals, ctx, note),
    arrivedWorkPerSecond: workRate(routers, rings.work, ctx, windows.stableSeconds, note),
    burstWorkPerSecond: workRate(routers, rings.work, ctx, windows.panicSeconds, note),
  };
}
