/**
 * The direct signal source, the way Knative's autoscaler scrapes pods itself: each tick it
 * reads every runtime pod's and router's /metrics (pod IP and container port) and every
 * dcgm-exporter pod's (found through Kubernetes, exporters.ts), with bounded concurrency and a short deadline per
 * scrape, so a 1 s tick sees 1 s data where Prometheus's path adds its scrape interval.
 *
 * One tick's cost: one scrape per running pod and router plus one per exporter, at most `concurrency` at
 * once; a dead pod costs its slot `timeoutMs` at most. E.g. 100 pods, 32 slots, 500 ms
 * deadline: under 2 s even if every pod hangs, ~50 ms when they answer in 15 ms.
 */
import { runtimePaths, runtimePort } from '../../../contract/runtime.ts';
import { gpusOf, type ExporterRef } from './dcgm.ts';
import { GpuIndex, gpuReadings, type ExporterScrape, type GpuSignal } from './gpu.ts';
import { LatencyRing, recordScrapes, runtimeReadings, type PodScrape } from './runtime.ts';
import { clientReadings, recordClientScrapes, type ClientRings } from './client.ts';
import { CounterRing } from './counter-ring.ts';
import { failure, mapLimit, request, type Failure, type FetchLike } from '../http.ts';
import type { Endpoint, SourceObserver } from '../observer.ts';
import {
  allMissing,
  eachOf,
  missing,
  type KeySignals,
  type PodRef,
  type Reading,
  type SignalSample,
  type SignalSource,
  type SignalTarget,
} from '../sample.ts';
import { parseTextFormat, type TextMetrics } from '../../../formats/prometheus-text.ts';
import { keyOf } from '../../../contract/object-key.ts';

export interface DirectSourceOptions {
  /** The dcgm-exporter pods to scrape now (exporters.ts lists them from Kubernetes). */
  exporters: () => Promise<readonly ExporterRef[]>;
  /** Deadline of one scrape, ms. Default 500: half of the default 1 s tick. */
  timeoutMs?: number;
  /** Scrapes at once. Default 32. */
  concurrency?: number;
  /**
   * Latency window, ms: the p95 rests on the images finished in the last this-many ms.
   * Default 10 000: at 1 image/s per pod that is ~10 images per pod, and it is a third of the
   * slow-generation rule's 30 s `for`, so a p95 turns within the window.
   */
  windowMs?: number;
  /** Tick seconds assumed until two ticks measure it. Default 1 (spec.autoscaling.interval). */
  intervalSeconds?: number;
  fetch?: FetchLike;
  observer?: SourceObserver;
}

type Scraped = { ok: true; metrics: TextMetrics } | Failure;

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

const gpuSignals: readonly GpuSignal[] = [
  'gpuUtilization',
  'vramUsedRatio',
  'vramUsedBytes',
  'vramTotalBytes',
];
const gpuMissing = (reading: Reading) => eachOf(gpuSignals, reading);

export class DirectSource implements SignalSource {
  readonly kind = 'direct' as const;
  private readonly o: DirectSourceOptions;
  private readonly ring: LatencyRing;
  private readonly client: ClientRings;
  private lastAt: number | undefined;

  constructor(options: DirectSourceOptions) {
    this.o = options;
    const windowMs = options.windowMs ?? 10_000;
    this.ring = new LatencyRing(windowMs);
    this.client = {
      wait: new LatencyRing(windowMs),
      requests: new LatencyRing(windowMs),
      arrivals: new LatencyRing(windowMs),
      work: new CounterRing(),
    };
  }

  private async scrape(endpoint: Endpoint, url: string): Promise<Scraped> {
    const got = await request(url, {
      timeoutMs: this.o.timeoutMs ?? 500,
      accept: 'text/plain;version=0.0.4',
      ...(this.o.fetch ? { fetch: this.o.fetch } : {}),
    });
    let out: Scraped;
    if (!got.ok) out = got;
    else if (got.status < 200 || got.status > 299) {
      out = failure('HttpStatus', `${url}: HTTP ${got.status}`);
    } else {
      try {
        out = { ok: true, metrics: parseTextFormat(got.body) };
      } catch (err) {
        out = failure('BadBody', `${url}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (!out.ok) this.o.observer?.failed(endpoint, out.reason);
    return out;
  }

  private async exporterList(): Promise<{ ok: true; exporters: readonly ExporterRef[] } | Failure> {
    try {
      return { ok: true, exporters: await this.o.exporters() };
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      const why = [err, cause].flatMap((e) => (e instanceof Error ? [e.message] : []));
      return failure('Network', why.join(': ') || String(err));
    }
  }

  /**
   * Every runtime pod's, router's and exporter's scrape of this tick, `concurrency` at a time.
   * Pods and routers are keyed `namespace/pod` in one map: their names never collide.
   */
  private async scrapeAll(pods: readonly PodRef[], exporters: readonly ExporterRef[]) {
    const podUrl = (p: PodRef) =>
      `http://${hostPort(p.ip ?? '', p.port ?? runtimePort)}${runtimePaths.metrics}`;
    const jobs = [
      ...pods.map((p) => ({ endpoint: 'runtime' as const, url: podUrl(p) })),
      ...exporters.map((e) => ({
        endpoint: 'dcgm' as const,
        url: `http://${hostPort(e.ip, e.port)}/metrics`,
      })),
    ];
    const results = await mapLimit(jobs, this.o.concurrency ?? 32, (j) =>
      this.scrape(j.endpoint, j.url),
    );
    const podScrapes = new Map<string, PodScrape>();
    pods.forEach((p, i) => podScrapes.set(keyOf(p), { pod: keyOf(p), result: results[i]! }));
    const exporterScrapes = this.exporterScrapes(exporters, results.slice(pods.length));
    return { podScrapes, exporterScrapes, requests: jobs.length };
  }

  async sample(targets: readonly SignalTarget[], now: number): Promise<SignalSample> {
    const started = performance.now();
    const tickSeconds =
      this.lastAt === undefined || now <= this.lastAt
        ? (this.o.intervalSeconds ?? 1)
        : (now - this.lastAt) / 1000;
    this.lastAt = now;
    const listed = await this.exporterList();
    const running = (t: SignalTarget) => t.pods.filter((p) => p.ip);
    const routing = (t: SignalTarget) => (t.routers ?? []).filter((p) => p.ip);
    const pods = targets.flatMap(running);
    const routers = targets.flatMap(routing);
    const scraped = await this.scrapeAll([...pods, ...routers], listed.ok ? listed.exporters : []);
    const scrapesOf = (refs: readonly PodRef[]) =>
      refs.map((p) => scraped.podScrapes.get(keyOf(p))!);
    recordScrapes(this.ring, scrapesOf(pods), now);
    recordClientScrapes(this.client, scrapesOf(pods), scrapesOf(routers), now);
    const scrapedKeys = new Set(scraped.podScrapes.keys());
    const { wait, requests, arrivals, work } = this.client;
    for (const ring of [this.ring, wait, requests, arrivals, work]) ring.keepOnly(scrapedKeys);
    const gpu = listed.ok ? new GpuIndex(scraped.exporterScrapes) : listed;
    const byKey = new Map<string, KeySignals>();
    for (const t of targets) {
      byKey.set(keyOf(t), this.readKey(t, scraped.podScrapes, gpu, now, tickSeconds));
    }
    const seconds = (performance.now() - started) / 1000;
    this.o.observer?.sampled('direct', scraped.requests, byKey, seconds);
    return { source: 'direct', at: now, byKey, requests: scraped.requests };
  }

  private exporterScrapes(exporters: readonly ExporterRef[], results: Scraped[]): ExporterScrape[] {
    return exporters.map((exporter, i) => {
      const r = results[i]!;
      return { exporter, result: r.ok ? { ok: true, gpus: gpusOf(r.metrics) } : r };
    });
  }

  private readKey(
    t: SignalTarget,
    scrapes: ReadonlyMap<string, PodScrape>,
    gpu: GpuIndex | Failure,
    at: number,
    tickSeconds: number,
  ): KeySignals {
    const key = keyOf(t);
    const running: PodRef[] = t.pods.filter((p) => p.ip);
    const own = running.map((p) => scrapes.get(keyOf(p))!);
    const ctx = { key, at, intervalSeconds: tickSeconds };
    const routers = t.routers?.filter((p) => p.ip).map((p) => scrapes.get(keyOf(p))!);
    const client = clientReadings(own, routers, this.client, ctx, t.demandWindows);
    // At zero pods the routers still tell what waits and arrives: scale from zero reads them.
    if (running.length === 0) {
      const none = allMissing('NoPods', `${key} has no running pod with an IP`);
      return routers ? { ...none, ...client } : none;
    }
    const runtime = runtimeReadings(own, { ...ctx, ring: this.ring });
    const gpus =
      gpu instanceof GpuIndex
        ? gpuReadings(running, gpu, { key, at, tickSeconds })
        : gpuMissing(missing('SourceDown', `${key}: ${gpu.message}`));
    return { ...runtime, ...client, ...gpus };
  }
}
