/**
 * The runtime's Prometheus metrics (prefix zimage_), on their own Registry. The operator's
 * slow-generation rule reads zimage_generation_duration_seconds at 15 s, so its buckets go well
 * past that (prom-client's default buckets stop at 10 s, where a 15 s p95 is invisible).
 * Labels stay bounded: status codes as strings, a fixed list of config-error reasons, one
 * series per model component.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { runtimeMetricPrefix, runtimeMetrics } from '../contract/metrics.ts';
import type { EngineInfo } from './engine.ts';

/** Why a live config document was not applied (zimage_config_errors_total{reason}). */
export const configErrorReasons = [
  /** The ConfigMap does not exist (or was deleted). */
  'missing',
  /** It exists but has no config.json key. */
  'missing_key',
  /** config.json is not JSON. */
  'invalid_json',
  /** config.json is JSON but fails the schema (steps out of range, unknown offload, ...). */
  'invalid_config',
  /** The API refused or failed (RBAC, network, timeouts). */
  'unreadable',
  /** The engine could not switch to the new offload mode. */
  'apply_failed',
] as const;
export type ConfigErrorReason = (typeof configErrorReasons)[number];

export { clientErrorReasons, type ClientErrorReason } from '../image-api/errors.ts';

/** What scrape-time gauges read; absent in tests that only count. */
export interface MetricSource {
  /** What the engine runs now; undefined before it has started. */
  info(): EngineInfo | undefined;
  /** Default steps (live config). */
  steps(): number;
  ready(): boolean;
  /** The card whose stage times are held (ZIMAGE_PACING), or "off". Default "off". */
  pacing?(): string;
}

/**
 * Time the engine spends generating, and the size of the image it generates now: what a GPU
 * exporter would see as utilization and activation memory (the local fleet's dcgm-exporter
 * stand-in reads both). Read at scrape time with the running generation included, so a 10 s
 * image counts as busy in every 1 s collection interval, not as one 10 s jump at its end.
 */
export class BusyTime {
  private doneSeconds = 0;
  private running: { since: number; pixels: number } | undefined;
  private readonly now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.now = now;
  }

  /** Count `work` (one image of this size) as busy until it settles. */
  async track<T>(size: { width: number; height: number }, work: Promise<T>): Promise<T> {
    const since = this.now();
    this.running = { since, pixels: size.width * size.height };
    try {
      return await work;
    } finally {
      this.doneSeconds += (this.now() - since) / 1000;
      this.running = undefined;
    }
  }

  seconds(): number {
    return this.doneSeconds + (this.running ? (this.now() - this.running.since) / 1000 : 0);
  }

  pixels(): number {
    return this.running?.pixels ?? 0;
  }
}

/** Components the pipeline has; each keeps a resident-session series even at 0. */
const components = ['text_encoder', 'transformer', 'vae_decoder'];

export function createRuntimeMetrics(source?: MetricSource, busy = new BusyTime()) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: runtimeMetricPrefix });
  const registers = [registry];
  return {
    registry,
    busy,
    generationBusy: new Counter({
      name: 'zimage_generation_busy_seconds_total',
      help: 'Time the engine spent generating images, the running one included.',
      registers,
      collect() {
        this.reset();
        this.inc(busy.seconds());
      },
    }),
    generatingPixels: new Gauge({
      name: 'zimage_generation_inflight_pixels',
      help: 'Width x height of the image generating now; 0 when idle.',
      registers,
      collect() {
        this.set(busy.pixels());
      },
    }),
    generationDuration: new Histogram({
      name: runtimeMetrics.generationDuration,
      help: 'Time to generate one image in the engine (no queueing, no HTTP).',
      // 0.1 s (H100, small sizes) to 300 s (CPU EP at 1024^2); 15 s and 120 s are bounds so
      // the slow-generation rule and the request deadline fall on bucket edges.
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300],
      registers,
    }),
    stepDuration: new Histogram({
      name: runtimeMetrics.stepDuration,
      help: 'One denoising step (one transformer forward and an Euler update).',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40],
      registers,
    }),
    requestDuration: new Histogram({
      name: runtimeMetrics.requestDuration,
      help: 'Generation requests from arrival to response, queueing included.',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300],
      registers,
    }),
    queueDepth: new Gauge({
      name: runtimeMetrics.queueDepth,
      help: 'Requests admitted and waiting for the engine.',
      registers,
    }),
    inflight: new Gauge({
      name: runtimeMetrics.inflight,
      help: 'Requests generating now (at most 1 per GPU).',
      registers,
    }),
    requests: new Counter({
      name: runtimeMetrics.requests,
      help: 'Generation requests by HTTP status code (499: client went away).',
      labelNames: ['code'] as const,
      registers,
    }),
    clientErrors: new Counter({
      name: 'zimage_client_errors_total',
      help: 'Requests that never arrived whole, by reason: the client hung up, was too slow or sent malformed HTTP.',
      labelNames: ['reason'] as const,
      registers,
    }),
    images: new Counter({
      name: runtimeMetrics.images,
      help: 'Images generated.',
      registers,
    }),
    warmup: new Gauge({
      name: runtimeMetrics.warmup,
      help: 'Start-up time by phase: sessions (create) and generation (the warm-up image).',
      labelNames: ['phase'] as const,
      registers,
    }),
    oom: new Counter({
      name: runtimeMetrics.oom,
      help: 'Generations that failed for lack of memory (each recreates the sessions).',
      registers,
    }),
    configInfo: new Gauge({
      name: runtimeMetrics.configInfo,
      help: 'What the runtime runs with now; always 1, one series at a time.',
      labelNames: [
        'steps',
        'offload',
        'attention',
        'ep',
        'transformer',
        'kernel',
        'pacing',
      ] as const,
      registers,
      // Read at scrape time and reset first, so a change never leaves the old series behind.
      collect() {
        this.reset();
        const info = source?.info();
        if (!info || !source) return;
        this.set(
          {
            steps: String(source.steps()),
            offload: info.offload,
            attention: info.attention,
            ep: info.executionProvider,
            transformer: info.transformerVariant,
            kernel: info.attentionKernel,
            pacing: source.pacing?.() ?? 'off',
          },
          1,
        );
      },
    }),
    configErrors: new Counter({
      name: runtimeMetrics.configErrors,
      help: 'Live config documents not applied, by reason (the last good config stays).',
      labelNames: ['reason'] as const,
      registers,
    }),
    residentSessions: new Gauge({
      name: runtimeMetrics.residentSessions,
      help: '1 for each model component whose ONNX Runtime session is resident now.',
      labelNames: ['component'] as const,
      registers,
      // With offload "model" sessions come and go within a generation: read at scrape time.
      collect() {
        const resident = source?.info()?.resident ?? [];
        for (const component of new Set([...components, ...resident])) {
          this.set({ component }, resident.includes(component) ? 1 : 0);
        }
      },
    }),
    ready: new Gauge({
      name: runtimeMetrics.ready,
      help: '1 while /readyz answers 200.',
      registers,
      collect() {
        this.set(source?.ready() ? 1 : 0);
      },
    }),
  };
}

export type RuntimeMetrics = ReturnType<typeof createRuntimeMetrics>;
