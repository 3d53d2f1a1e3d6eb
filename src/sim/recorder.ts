/**
 * The fleet as its exporters see it, once a second: what dcgm-exporter reports (utilization as
 * the share of the second a kernel ran, memory used), what the runtime's /metrics reports
 * (queue, in flight, the generation-duration histogram) and what Kubernetes reports (replicas,
 * Ready, Pending). Controllers read these samples, never the fleet itself.
 */
import { durationSeconds } from '../operator/api/v1alpha1/schema-kit.ts';
import { latencyRateWindow } from '../operator/signals/prometheus/promql.ts';
import type { Fleet, Pod } from './fleet.ts';
import { SortedValues } from './sorted-values.ts';

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

/**
 * Seconds of samples a Recorder keeps by default: well past the longest window a controller
 * reads today (KPA's 60 s stable window; the policy and the HPA hold a sample up to 30 s; the
 * HPA's 300 s stabilization keeps its own proposals), so a 23-day run holds 600-1200 samples,
 * not two million. A longer window() throws rather than quietly seeing less.
 */
export const keptSeconds = 600;

/** What controllers read: the recent samples, oldest first. */
export interface SampleSource {
  /** At least the last keptSeconds of samples (all of them in a short run). */
  readonly samples: readonly Sample[];
  /** Samples in (newest - seconds, newest]; at most keptSeconds. */
  window(seconds: number): Sample[];
}

export class Recorder implements SampleSource {
  readonly samples: Sample[] = [];
  private readonly keepSeconds: number;
  private readonly lastBusy = new Map<number, number>();
  /** Each pod's busy seconds at the last samples, oldest first. */
  private readonly history = new Map<number, number[]>();
  private readonly fleet: Fleet;
  private readonly memoryBytes: number;
  private latencyFrom = 0;
  private waitFrom = 0;
  private readonly windows = {
    latencyFrom: { values: new SortedValues(), added: 0 },
    waitFrom: { values: new SortedValues(), added: 0 },
  };

  constructor(fleet: Fleet, memoryBytes: number, keepSeconds = keptSeconds) {
    this.fleet = fleet;
    this.memoryBytes = memoryBytes;
    this.keepSeconds = keepSeconds;
  }

  /** Sample, then forget what no window reaches any more. */
  record(): Sample {
    const s = this.sample();
    // Trimming when twice the samples kept have piled up: one splice per keptSeconds, O(1) a
    // sample amortized, where a shift per sample would move the whole array each second.
    if (this.samples.length > 2 * this.keepSeconds) {
      this.samples.splice(0, this.samples.length - this.keepSeconds);
      this.forgetGonePods();
    }
    return s;
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

  /**
   * p95 of a log's entries that ended in the window; `from` is its cursor past older ones. The
   * window's values are kept sorted as entries come and go (`added`: the log's entries taken
   * in so far). The log is the fleet's, read only here: what the cursor passed is cut off once
   * it is most of the log, so the log holds about one window however long the run.
   */
  private p95(
    log: { at: number; seconds: number }[],
    from: 'latencyFrom' | 'waitFrom',
  ): number | undefined {
    const window = this.windows[from];
    for (; window.added < log.length; window.added++) window.values.add(log[window.added]!.seconds);
    const since = this.fleet.now - latencyWindowSeconds;
    while (this[from] < log.length && log[this[from]]!.at < since)
      window.values.delete(log[this[from]++]!.seconds);
    if (this[from] > 1024 && this[from] > log.length / 2) {
      log.splice(0, this[from]);
      window.added -= this[from];
      this[from] = 0;
    }
    return window.values.quantile(0.95);
  }

  window(seconds: number): Sample[] {
    if (seconds > this.keepSeconds) {
      throw new Error(`a ${seconds} s window: the recorder keeps ${this.keepSeconds} s of samples`);
    }
    return windowOf(this.samples, this.fleet.now, seconds);
  }

  /** Drop the per-pod busy history of pods that left the fleet. */
  private forgetGonePods(): void {
    const live = new Set(this.fleet.pods.map((p) => p.id));
    for (const id of this.history.keys()) {
      if (live.has(id)) continue;
      this.history.delete(id);
      this.lastBusy.delete(id);
    }
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

/** The newest sample at or before `t`: what a source sampling on a grid still holds then. */
export function latestAt(samples: readonly Sample[], t: number): Sample | undefined {
  return samples.findLast((s) => s.t <= t + 1e-9);
}
