/**
 * The signal sources' operator metrics (prefix zimage_operator_signal_), on the operator's
 * registry. A missing signal has no value series at all, and a `missing` series with its
 * reason instead: a dashboard never shows a 0 that means "unknown".
 * Cardinality: 7 signals x 2 sources per ZImageDeployment (14 000 series at 1000 objects).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { seriesLabels } from '../../contract/metrics.ts';
import type { FetchErrorReason } from './http.ts';
import type { Endpoint, SourceObserver } from './observer.ts';
import type { KeySignals, SignalName, SignalSample, SourceKind } from './sample.ts';
import { parseKey } from '../../contract/object-key.ts';

const objectLabels = [seriesLabels.namespace, seriesLabels.deployment] as const;

export function createSignalMetrics(registry: Registry) {
  const registers = [registry];
  return {
    requestsPerTick: new Gauge({
      name: 'zimage_operator_signal_requests_per_tick',
      help: 'Queries (prometheus) or scrapes (direct) in the last tick of a source.',
      labelNames: ['source'] as const,
      registers,
    }),
    requests: new Counter({
      name: 'zimage_operator_signal_requests_total',
      help: 'Queries (prometheus) or scrapes (direct) a source sent.',
      labelNames: ['source'] as const,
      registers,
    }),
    errors: new Counter({
      name: 'zimage_operator_signal_errors_total',
      help: 'Failed queries and scrapes by endpoint (prometheus, runtime, dcgm) and reason.',
      labelNames: ['endpoint', 'reason'] as const,
      registers,
    }),
    value: new Gauge({
      name: 'zimage_operator_signal_value',
      help: 'Current signal value by ZImageDeployment; absent while the signal is missing.',
      labelNames: [...objectLabels, 'signal', 'source'] as const,
      registers,
    }),
    missing: new Gauge({
      name: 'zimage_operator_signal_missing',
      help: '1 while a signal is missing, with the reason; absent while it has a value.',
      labelNames: [...objectLabels, 'signal', 'source', 'reason'] as const,
      registers,
    }),
    sampleDuration: new Histogram({
      name: 'zimage_operator_signal_sample_duration_seconds',
      help: 'Time one tick of a source took (all its queries or scrapes).',
      labelNames: ['source'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    sampleAge: new Gauge({
      name: 'zimage_operator_signal_sample_age_seconds',
      help: 'Age of the sample a decision used, from the sample start to the decision.',
      labelNames: ['source'] as const,
      registers,
    }),
  };
}

export type SignalMetrics = ReturnType<typeof createSignalMetrics>;

type Labels = Record<string, string>;

/** The observer the sources report to, writing `metrics`; `recordUse` is the consumer's. */
export class SignalMetricsObserver implements SourceObserver {
  private readonly m: SignalMetrics;
  /** Label sets written last tick, per source, so a gone object or reason is removed. */
  private readonly written = new Map<SourceKind, { value: Labels[]; missing: Labels[] }>();

  constructor(metrics: SignalMetrics) {
    this.m = metrics;
  }

  sampled(
    source: SourceKind,
    requests: number,
    byKey: ReadonlyMap<string, KeySignals>,
    seconds: number,
  ): void {
    this.m.requestsPerTick.set({ source }, requests);
    this.m.requests.inc({ source }, requests);
    this.m.sampleDuration.observe({ source }, seconds);
    const previous = this.written.get(source);
    for (const labels of previous?.value ?? []) this.m.value.remove(labels);
    for (const labels of previous?.missing ?? []) this.m.missing.remove(labels);
    const now = { value: [] as Labels[], missing: [] as Labels[] };
    for (const [key, signals] of byKey) {
      const { namespace, name } = parseKey(key);
      for (const [signal, reading] of Object.entries(signals) as [
        SignalName,
        KeySignals[SignalName],
      ][]) {
        const labels = { namespace, [seriesLabels.deployment]: name, signal, source };
        if (reading.ok) {
          this.m.value.set(labels, reading.value);
          now.value.push(labels);
        } else {
          const withReason = { ...labels, reason: reading.reason };
          this.m.missing.set(withReason, 1);
          now.missing.push(withReason);
        }
      }
    }
    this.written.set(source, now);
  }

  failed(endpoint: Endpoint, reason: FetchErrorReason): void {
    this.m.errors.inc({ endpoint, reason });
  }

  /** The consumer (the autoscaler's tick) calls this when it decides on `sample` at `now`. */
  recordUse(sample: SignalSample, now: number): void {
    this.m.sampleAge.set({ source: sample.source }, Math.max(0, now - sample.at) / 1000);
  }
}
