/**
 * The Prometheus signal source: per Prometheus URL and tick, a fixed set of instant queries
 * (one per signal plus two diagnostics, `queriesPerTick`), each over every ZImageDeployment
 * at once and grouped by namespace and zimage_deployment (promql.ts): 1 object or
 * 1000, the same 15 queries. Never one query per object.
 *
 * Several series for one key: the queries aggregate `by (namespace, zimage_deployment)`, so
 * Prometheus itself never returns two; a query layer in front (federation, a proxy merging
 * replicas without dedup) can. They are then the same measurement twice, and the source takes
 * the max with a note: an error would hold every rule (no scale-out under load either), and
 * the max errs toward load, toward scale-out and against scale-in, never toward reading load
 * lower than it is (keda#3065).
 */
import { seriesLabels } from '../../../contract/metrics.ts';
import { durationSeconds } from '../../api/v1alpha1/schema-kit.ts';
import type { Failure, FetchLike } from '../http.ts';
import { queryVector, type VectorSample } from './api.ts';
import { judgeUrl, refusalMessage, type PrometheusUrlPolicy } from './url-policy.ts';
import { routerSignals as routerSignalNames } from '../../api/v1alpha1/signals.ts';
import {
  arrivalRateWindow,
  latencyRateWindow,
  observedQuery,
  renamedDcgmQuery,
  signalQuery,
  targetsQuery,
} from './promql.ts';
import {
  allMissing,
  fromNumber,
  missing,
  type KeySignals,
  type Reading,
  type SignalName,
  type SignalSample,
  type SignalSource,
  type SignalTarget,
} from '../sample.ts';
import type { SourceObserver } from '../observer.ts';
import { keyOf } from '../../../contract/object-key.ts';

export interface PrometheusSourceOptions {
  /** Deadline of each query, ms. Default 1000: within a 1 s tick's budget. */
  timeoutMs?: number;
  /**
   * Seconds between runtime samples in Prometheus. Default 5: the operator's ServiceMonitor
   * interval (builders/monitoring.ts).
   */
  runtimeIntervalSeconds?: number;
  /**
   * Seconds between dcgm-exporter updates. Default 30: its collection interval
   * (DCGM_EXPORTER_INTERVAL=30000 ms), longer than any usual scrape interval.
   */
  dcgmIntervalSeconds?: number;
  fetch?: FetchLike;
  observer?: SourceObserver;
  /**
   * Which spec URLs may be queried (the operator's --prometheus-url-allow flags); a refused
   * one is never asked and its object reads NotConfigured, saying why. Absent: every URL (tests
   * that query a Prometheus they started).
   */
  urlPolicy?: PrometheusUrlPolicy;
}

export type QueryName = SignalName | 'targets' | 'renamedDcgm';

const all = 'all' as const;
/** The PromQL of each query a tick sends (exported for tests that play Prometheus). */
export const prometheusQueries: Readonly<Record<QueryName, string>> = {
  gpuUtilization: signalQuery('gpuUtilization', all),
  vramUsedRatio: signalQuery('vramUsedRatio', all),
  latencyP95Seconds: signalQuery('latencyP95Seconds', all),
  waitP95Seconds: signalQuery('waitP95Seconds', all),
  queueDepth: signalQuery('queueDepth', all),
  inflight: observedQuery('inflight', all),
  vramUsedBytes: observedQuery('vramUsedBytes', all),
  vramTotalBytes: observedQuery('vramTotalBytes', all),
  routerQueuedImages: observedQuery('routerQueuedImages', all),
  routerQueuedWorkSeconds: observedQuery('routerQueuedWorkSeconds', all),
  arrivedImagesPerSecond: observedQuery('arrivedImagesPerSecond', all),
  arrivedWorkPerSecond: observedQuery('arrivedWorkPerSecond', all),
  burstWorkPerSecond: observedQuery('burstWorkPerSecond', all),
  targets: targetsQuery(all),
  renamedDcgm: renamedDcgmQuery(all),
};
const queries = prometheusQueries;
const queryNames = Object.keys(queries) as QueryName[];

/** Queries per Prometheus URL and tick, whatever the number of objects. */
export const queriesPerTick = queryNames.length;

/** Quantiles over the latency window: NaN there means no image finished in it. */
const quantiles = new Set<SignalName>(['latencyP95Seconds', 'waitP95Seconds']);

const routerSignals = new Set<SignalName>(routerSignalNames);

const gpuSignals = new Set<SignalName>([
  'gpuUtilization',
  'vramUsedRatio',
  'vramUsedBytes',
  'vramTotalBytes',
]);

/** A query's answer, its samples indexed by object key once per tick. */
type Answer = { ok: true; byKey: Map<string, VectorSample[]> } | Failure;
type Answers = Record<QueryName, Answer>;

/** Samples of one query by object key. */
function byKey(samples: readonly VectorSample[]): Map<string, VectorSample[]> {
  const out = new Map<string, VectorSample[]>();
  for (const s of samples) {
    const namespace = s.labels[seriesLabels.namespace];
    const name = s.labels[seriesLabels.deployment];
    if (!namespace || !name) continue;
    const key = keyOf({ namespace, name });
    const list = out.get(key);
    if (list) list.push(s);
    else out.set(key, [s]);
  }
  return out;
}

interface Targets {
  up: number;
  down: number;
}

function countTargets(samples: readonly VectorSample[] | undefined): Targets {
  const up = (samples ?? []).filter((s) => s.value === 1).length;
  return { up, down: (samples?.length ?? 0) - up };
}

function notesOf(series: number, down: number, total: number): string | undefined {
  const notes = [
    series > 1 ? `${series} series for one object: took the max` : '',
    down > 0 ? `${down} of ${total} targets down: value from the other ${total - down}` : '',
  ].filter(Boolean);
  return notes.length > 0 ? notes.join('; ') : undefined;
}

export class PrometheusSource implements SignalSource {
  readonly kind = 'prometheus' as const;
  private readonly o: PrometheusSourceOptions;
  private readonly timeoutMs: number;

  constructor(options: PrometheusSourceOptions = {}) {
    this.o = options;
    this.timeoutMs = options.timeoutMs ?? 1000;
  }

  async sample(targets: readonly SignalTarget[], now: number): Promise<SignalSample> {
    const started = performance.now();
    const byUrl = new Map<string, SignalTarget[]>();
    const result = new Map<string, KeySignals>();
    for (const t of targets) {
      result.set(keyOf(t), allMissing('NotConfigured', this.unconfigured(t)));
      if (!t.prometheusUrl) continue;
      const refused = this.refusal(t.prometheusUrl);
      if (refused) {
        result.set(keyOf(t), allMissing('NotConfigured', refused));
        continue;
      }
      const group = byUrl.get(t.prometheusUrl);
      if (group) group.push(t);
      else byUrl.set(t.prometheusUrl, [t]);
    }
    await Promise.all(
      [...byUrl].map(async ([url, group]) => {
        const answers = await this.ask(url);
        for (const t of group) result.set(keyOf(t), this.readKey(t, url, answers));
      }),
    );
    const requests = byUrl.size * queriesPerTick;
    this.o.observer?.sampled('prometheus', requests, result, (performance.now() - started) / 1000);
    return { source: 'prometheus', at: now, byKey: result, requests };
  }

  private refusal(url: string): string | undefined {
    const verdict = this.o.urlPolicy ? judgeUrl(url, this.o.urlPolicy) : { ok: true as const };
    return verdict.ok ? undefined : refusalMessage(url, verdict.why);
  }

  private unconfigured(t: SignalTarget): string {
    return `${keyOf(t)} sets no spec.autoscaling.metrics.prometheus.url`;
  }

  private async ask(url: string): Promise<Answers> {
    const options = { timeoutMs: this.timeoutMs, ...(this.o.fetch ? { fetch: this.o.fetch } : {}) };
    const answers = await Promise.all(queryNames.map((q) => queryVector(url, queries[q], options)));
    const out = {} as Answers;
    queryNames.forEach((q, i) => {
      const answer = answers[i]!;
      if (!answer.ok) this.o.observer?.failed('prometheus', answer.reason);
      out[q] = answer.ok ? { ok: true, byKey: byKey(answer.samples) } : answer;
    });
    return out;
  }

  private readKey(t: SignalTarget, url: string, answers: Answers): KeySignals {
    const key = keyOf(t);
    const out = {} as KeySignals;
    if (t.pods.length === 0) return allMissing('NoPods', `${key} has no running pod`);
    const targets = answers.targets.ok ? countTargets(answers.targets.byKey.get(key)) : undefined;
    if (targets && targets.up + targets.down === 0) {
      return allMissing(
        'NoTargets',
        `${url} scrapes none of ${key}'s ${t.pods.length} pods: is its ServiceMonitor selected (kube-prometheus-stack selects on the release label)?`,
      );
    }
    const renamed = answers.renamedDcgm.ok && answers.renamedDcgm.byKey.has(key);
    for (const signal of Object.keys(queries) as QueryName[]) {
      if (signal === 'targets' || signal === 'renamedDcgm') continue;
      out[signal] = this.reading(signal, key, url, answers[signal], { targets, renamed });
    }
    return out;
  }

  private reading(
    signal: SignalName,
    key: string,
    url: string,
    answer: Answer,
    ctx: { targets: Targets | undefined; renamed: boolean },
  ): Reading {
    if (!answer.ok) return missing('SourceDown', `${signal} of ${key}: ${answer.message}`);
    const gpu = gpuSignals.has(signal);
    const down = ctx.targets?.down ?? 0;
    const total = down + (ctx.targets?.up ?? 0);
    if (!gpu && total > 0 && down === total) {
      return missing(
        'Stale',
        `${signal} of ${key}: all ${total} of its targets in ${url} are down`,
      );
    }
    const series = answer.byKey.get(key) ?? [];
    if (series.length === 0) return this.absent(signal, key, url, gpu, ctx.renamed);
    const value = Math.max(...series.map((s) => s.value));
    if (quantiles.has(signal) && Number.isNaN(value)) {
      return missing(
        'NoObservations',
        `no image of ${key} finished in the last ${latencyRateWindow}`,
      );
    }
    const note = notesOf(series.length, gpu ? 0 : down, total);
    const base = { ...this.timing(signal, series[0]!.at), ...(note ? { note } : {}) };
    return fromNumber(value, base, `${signal} of ${key}`);
  }

  private absent(
    signal: SignalName,
    key: string,
    url: string,
    gpu: boolean,
    renamed: boolean,
  ): Reading {
    if (gpu && renamed) {
      return missing(
        'MissingPodLabel',
        `dcgm-exporter series in ${url} name ${key}'s pods only as exported_pod/exported_namespace: set honorLabels: true on dcgm-exporter's ServiceMonitor`,
      );
    }
    const from = gpu
      ? 'dcgm-exporter series with the pod labels of its pods'
      : routerSignals.has(signal)
        ? 'router series (is spec.router.enabled, and are its routers scraped?)'
        : 'runtime series';
    return missing('NoData', `${signal} of ${key}: ${url} has no ${from}`);
  }

  private timing(signal: SignalName, at: number) {
    const runtime = this.o.runtimeIntervalSeconds ?? 5;
    if (gpuSignals.has(signal)) return { at, intervalSeconds: this.o.dcgmIntervalSeconds ?? 30 };
    if (quantiles.has(signal)) {
      return { at, intervalSeconds: runtime, windowSeconds: durationSeconds(latencyRateWindow) };
    }
    if (signal === 'arrivedImagesPerSecond') {
      return { at, intervalSeconds: runtime, windowSeconds: durationSeconds(arrivalRateWindow) };
    }
    return { at, intervalSeconds: runtime };
  }
}
