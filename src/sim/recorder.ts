/**
 * The fleet as its exporters see it, once a second: what dcgm-exporter reports (utilization as
 * the share of the second a kernel ran, memory used), what the runtime's /metrics reports
 * (queue, in flight, the generation-duration histogram) and what Kubernetes reports (replicas,
 * Ready, Pending). Controllers read these samples, never the fleet itself.
 */
import { durationSeconds } from '../operator/api/v1alpha1/schema-kit.ts';
import { latencyRateWindow } from '../operator/signals/prometheus/promql.ts';
import type { Fleet, Pod } from './fleet.ts';
import { quantile } from './results.ts';

export interface Sample {
  t: number;
  /**
   * The policy's gpuUtilization: busy share of the Ready pods over the last 10 s, percent, as
   * rate(zimage_generation_busy_seconds_total[10s]) from 1 s direct scrapes gives it. One
   * second of one pod is 0 or 100% for 1-10 s images: too coarse for a 5 min idle window.
   */
  util: number;
  /** dcgm-exporter's view: the last second's mean over every pod holding a GPU, percent. */
  utilGpus: number;
  gpuPods: number;
  /** The fullest card, 0..1 of its memory. */
  vramRatio: number;
  vramBytes: number;
  queue: number;
  inflight: number;
  pending: number;
  replicas: number;
  ready: number;
  /** p95 of engine seconds per image over the PromQL rate window (1m: the last 60 s). */
  latencyP95: number | undefined;
  /** p95 of the clients' wait (Fleet.waited) over the same window. */
  waitP95: number | undefined;
  /** The router's counters and gauges (zeros behind a Service, which exports none). */
  router?: { arrivedWork: number; queued: number; queuedWork: number };
}

/** The latency signal's window, as the Prometheus source queries it. */
const latencyWindowSeconds = durationSeconds(latencyRateWindow);
const smoothSeconds = 10;

/** What controllers read: the samples so far. */
export interface SampleSource {
  readonly samples: readonly Sample[];
  /** Samples in (newest - seconds, newest]. */
  window(seconds: number): Sample[];
}

export class Recorder implements SampleSource {
  readonly samples: Sample[] = [];
  private readonly lastBusy = new Map<number, number>();
  /** Each pod's busy seconds at the last samples, oldest first. */
  private readonly history = new Map<number, number[]>();
  private readonly fleet: Fleet;
  private readonly memoryBytes: number;
  private latencyFrom = 0;
  private waitFrom = 0;

  constructor(fleet: Fleet, memoryBytes: number) {
    this.fleet = fleet;
    this.memoryBytes = memoryBytes;
  }

  sample(): Sample {
    const f = this.fleet;
    const holding = f.pods.filter((p) => p.gpuAt !== undefined && p.phase !== 'Draining');
    const ready = holding.filter((p) => p.phase === 'Ready');
    const vramBytes = Math.max(0, ...holding.map((p) => p.vramBytes));
    const s: Sample = {
      t: f.now,
      util: mean(ready.map((p) => this.smoothed(p))),
      utilGpus: mean(holding.map((p) => this.utilOf(p))),
      gpuPods: holding.length,
      vramRatio: vramBytes / this.memoryBytes,
      vramBytes,
      // Behind the router, what waits there: the demand its queued-images gauge exports.
      queue: sum(f.pods.map((p) => p.queue.length)) + f.front.waiting,
      inflight: f.pods.filter((p) => p.running).length,
      pending: f.pendingForGpus(),
      replicas: f.replicas,
      ready: f.pods.filter((p) => p.phase === 'Ready').length,
      latencyP95: this.p95(f.finished, 'latencyFrom'),
      waitP95: this.p95(f.waited, 'waitFrom'),
      ...(f.front.routed
        ? {
            router: {
              arrivedWork: f.arrivedWork,
              queued: f.front.waiting,
              queuedWork: f.front.queuedWork,
            },
          }
        : {}),
    };
    for (const p of f.pods) {
      this.lastBusy.set(p.id, f.busyAt(p));
      const h = this.history.get(p.id) ?? [];
      h.push(f.busyAt(p));
      if (h.length > smoothSeconds + 1) h.shift();
      this.history.set(p.id, h);
    }
    this.samples.push(s);
    return s;
  }

  /** Busy share since min(10 s ago, Ready). */
  private smoothed(pod: Pod): number {
    const f = this.fleet;
    const h = this.history.get(pod.id) ?? [];
    const span = Math.min(smoothSeconds, h.length, f.now - (pod.readyAt ?? f.now));
    if (span <= 0) return 0;
    const then = h[h.length - Math.floor(span)] ?? f.busyAt(pod);
    return Math.min(100, (100 * (f.busyAt(pod) - then)) / Math.floor(span));
  }

  private utilOf(pod: Pod): number {
    const f = this.fleet;
    const since = Math.max(f.now - 1, pod.gpuAt ?? f.now);
    const span = f.now - since;
    if (span <= 0) return 0;
    const busy = f.busyAt(pod) - (this.lastBusy.get(pod.id) ?? f.busyAt(pod));
    return Math.min(100, (100 * busy) / Math.max(1, span));
  }

  /** p95 of a log's entries that ended in the window; `from` is its cursor past older ones. */
  private p95(
    log: readonly { at: number; seconds: number }[],
    from: 'latencyFrom' | 'waitFrom',
  ): number | undefined {
    const since = this.fleet.now - latencyWindowSeconds;
    while (this[from] < log.length && log[this[from]]!.at < since) this[from]++;
    return quantile(
      log.slice(this[from]).map((d) => d.seconds),
      0.95,
    );
  }

  window(seconds: number): Sample[] {
    return windowOf(this.samples, this.fleet.now, seconds);
  }
}

/** Samples in (now - seconds, now]. */
export function windowOf(samples: readonly Sample[], now: number, seconds: number): Sample[] {
  const out: Sample[] = [];
  for (let i = samples.length - 1; i >= 0 && samples[i]!.t > now - seconds; i--)
    out.push(samples[i]!);
  return out.reverse();
}

export const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
export const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : sum(xs) / xs.length);
