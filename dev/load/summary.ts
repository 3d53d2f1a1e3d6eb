/**
 * What a load run saw: one record per request (written as NDJSON while the run goes) and the
 * summary computed from them. Pure.
 */

/** One request, as written to the NDJSON file. Times in seconds after the run began. */
export interface LoadRecord {
  /** Position in the schedule, from 0. */
  seq: number;
  /** When the schedule said to send it, and when it was sent (the difference is our lag). */
  scheduledS: number;
  startS: number;
  /** Send to the last byte of the answer; null when no answer came. */
  latencyS: number | null;
  /** The HTTP status; 0 when no answer came (see `error`). */
  status: number;
  /** The API's error code (queue_full, does_not_fit, ...), for answers that carry one. */
  code?: string;
  /** Why no answer came: timeout, connection refused, stopped by the cap, skipped, ... */
  error?: string;
  /** The pod that answered (x-zimage-pod), when the runtime says. */
  pod: string | null;
  /** With a Service (--service): the backend it was sent to, `http://address:port`. */
  backend?: string;
  size?: string;
  steps?: number;
  n?: number;
  /** The runtime's own split for answered images (timings.queue_ms, generation_ms). */
  queueMs?: number;
  generationMs?: number;
}

export interface LoadSummary {
  target: string;
  schedule: string;
  /** Requests the schedule sent (including those the generator skipped at its in-flight cap). */
  requests: number;
  /** Requests that got an HTTP answer, any status. */
  answered: number;
  /** By HTTP status; "error" for no answer, "skipped" for the generator's in-flight cap. */
  statuses: Record<string, number>;
  /** Seconds the schedule spans, and the rate it offered. */
  scheduleSeconds: number;
  offeredRate: number;
  /** First send to last answer. */
  durationSeconds: number;
  /** 200 answers per second over durationSeconds, and images per second (n per request). */
  throughput: number;
  imagesPerSecond: number;
  /** Latency of the 200 answers (refusals are fast and would flatter it); null without any. */
  latencySeconds: { p50: number; p95: number; p99: number; max: number; mean: number } | null;
  latencyBoundSeconds: number;
  /** Share of all requests answered 200 within the bound: a 429 is not served in time. */
  underBound: number;
  /** Latest send after its scheduled time: how open the loop really was. */
  maxLagMs: number;
  /** Most requests outstanding at once. */
  maxInFlight: number;
  /** Why the run ended before every request was answered, if it did. */
  stopped?: string;
}

/** The p-th percentile (0..100), nearest rank: the smallest value with p% at or below it. */
export function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? Number.NaN;
}

export interface SummaryContext {
  target: string;
  schedule: string;
  scheduleSeconds: number;
  latencyBoundSeconds: number;
  maxInFlight: number;
  stopped?: string | undefined;
}

export function summarize(records: readonly LoadRecord[], ctx: SummaryContext): LoadSummary {
  const statuses: Record<string, number> = {};
  for (const r of records) {
    const key = r.status > 0 ? String(r.status) : r.error === skipped ? 'skipped' : 'error';
    statuses[key] = (statuses[key] ?? 0) + 1;
  }
  const ok = records.filter((r) => r.status === 200 && r.latencyS !== null);
  const latencies = ok.map((r) => r.latencyS ?? 0).sort((a, b) => a - b);
  const sent = records.filter((r) => r.error !== skipped);
  const first = Math.min(...sent.map((r) => r.startS));
  const last = Math.max(...sent.map((r) => r.startS + (r.latencyS ?? 0)));
  const durationSeconds = sent.length > 0 ? last - first : 0;
  const per = (count: number) => (durationSeconds > 0 ? count / durationSeconds : 0);
  const bound = ctx.latencyBoundSeconds;
  return {
    target: ctx.target,
    schedule: ctx.schedule,
    requests: records.length,
    answered: records.filter((r) => r.status > 0).length,
    statuses,
    scheduleSeconds: ctx.scheduleSeconds,
    offeredRate: ctx.scheduleSeconds > 0 ? records.length / ctx.scheduleSeconds : 0,
    durationSeconds,
    throughput: per(ok.length),
    imagesPerSecond: per(ok.reduce((sum, r) => sum + (r.n ?? 1), 0)),
    latencySeconds:
      latencies.length === 0
        ? null
        : {
            p50: percentile(latencies, 50),
            p95: percentile(latencies, 95),
            p99: percentile(latencies, 99),
            max: latencies.at(-1) ?? 0,
            mean: latencies.reduce((a, b) => a + b, 0) / latencies.length,
          },
    latencyBoundSeconds: bound,
    underBound: records.length ? latencies.filter((l) => l <= bound).length / records.length : 0,
    maxLagMs: Math.max(0, ...sent.map((r) => (r.startS - r.scheduledS) * 1000)),
    maxInFlight: ctx.maxInFlight,
    ...(ctx.stopped ? { stopped: ctx.stopped } : {}),
  };
}

/** `error` of a request the generator did not send because maxInFlight were outstanding. */
export const skipped = 'skipped: maxInFlight requests outstanding';

/** The summary for people: a few aligned lines. */
export function formatSummary(s: LoadSummary): string {
  const l = s.latencySeconds;
  const sec = (x: number) => `${x.toFixed(2)} s`;
  const statuses = Object.entries(s.statuses)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  return [
    `target      ${s.target} (${s.schedule}, ${s.offeredRate.toFixed(2)}/s offered over ${sec(s.scheduleSeconds)})`,
    `requests    ${s.requests} sent, ${s.answered} answered (${statuses})`,
    `throughput  ${s.throughput.toFixed(2)}/s served (${s.imagesPerSecond.toFixed(2)} images/s) over ${sec(s.durationSeconds)}`,
    l
      ? `latency     p50 ${sec(l.p50)}  p95 ${sec(l.p95)}  p99 ${sec(l.p99)}  max ${sec(l.max)} (200s only)`
      : 'latency     no request was served',
    `in time     ${(s.underBound * 100).toFixed(1)}% of requests served within ${s.latencyBoundSeconds} s`,
    `open loop   max send lag ${s.maxLagMs.toFixed(0)} ms, at most ${s.maxInFlight} in flight`,
    ...(s.stopped ? [`stopped     ${s.stopped}`] : []),
  ].join('\n');
}
