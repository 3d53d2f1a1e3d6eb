/**
 * runLoad: the open-loop load generator. Every request leaves at its scheduled time whether or
 * not earlier ones were answered, each on its own connection: Node's fetch (undici) keeps no
 * per-origin connection limit by default (300 concurrent requests to one server opened 300
 * sockets here), so concurrency is bounded by maxInFlight alone, never by a client pool that
 * would queue requests on our side and hide the server's queue.
 *
 * Bounded three ways: the schedule may hold at most maxRequests requests, the whole run lasts at
 * most maxDurationSeconds (then outstanding requests are abandoned and recorded as such), and
 * at most maxInFlight are outstanding (an arrival past it is recorded as skipped, not delayed).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { every, type Clock, type TimerHandle } from '../../src/contract/clock.ts';
import { runtimeHeaders, runtimePaths } from '../../src/contract/runtime.ts';
import {
  hardCaps,
  LoadOptionsError,
  parseLoadOptions,
  type LoadOptions,
  type LoadSettings,
} from './options.ts';
import { arrivals, scheduleSeconds, TooManyArrivals, type Arrival } from './schedule.ts';
import { percentile, skipped, summarize, type LoadRecord, type LoadSummary } from './summary.ts';
import { ServiceSpread } from './spread.ts';
import { loopbackTarget, type TargetError } from './target.ts';

/**
 * Real timers that keep the process alive: between two arrivals of a slow schedule nothing
 * else may (the contract's systemClock unrefs its timers), and a run must not end early.
 */
export const loadClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as TimerHandle,
  clearTimeout: (handle) => clearTimeout(handle as unknown as NodeJS.Timeout | undefined),
};

export const defaultPrompt = 'a lighthouse on a cliff at dawn, waves breaking below, soft light';

/** Run the schedule against the target; resolves with the summary once every answer is in. */
export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  const settings = parseLoadOptions(options);
  const fixed = settings.target === undefined ? undefined : loopbackTarget(settings.target);
  if (settings.service !== undefined && !options.backends) {
    const message =
      'a service needs the backends hook (its Ready backends, listed through the API)';
    throw new LoadOptionsError([{ path: 'service', message }]);
  }
  const span = scheduleSeconds(settings.schedule);
  if (span > settings.maxDurationSeconds) {
    throw new LoadOptionsError([
      {
        path: 'maxDurationSeconds',
        message: `the schedule lasts ${span} s, longer than the run may (${settings.maxDurationSeconds} s); raise it (at most ${hardCaps.durationSeconds}) or shorten the schedule`,
      },
    ]);
  }
  let plan: Arrival[];
  try {
    plan = arrivals(settings.schedule, settings.maxRequests);
  } catch (err) {
    if (!(err instanceof TooManyArrivals)) throw err;
    throw new LoadOptionsError([
      { path: 'maxRequests', message: `${err.message}; raise it or shorten the schedule` },
    ]);
  }
  // A Service: its backends are listed before anything is sent (an unknown Service, or a
  // backend off loopback, is refused here), then kept current while the run goes.
  // A backend off loopback appearing later stops the run (bound once the run exists).
  let refuse = (_err: TargetError): void => undefined;
  const spread =
    settings.service === undefined || !options.backends
      ? undefined
      : await ServiceSpread.start({
          label: `service ${settings.service}`,
          list: options.backends,
          clock: options.clock ?? loadClock,
          refreshMs: settings.serviceRefreshMs,
          ...(options.random ? { random: options.random } : {}),
          onRefused: (err) => refuse(err),
        });
  const to: Destination = spread
    ? { label: `service ${settings.service}`, pick: () => spread.pick(), spread }
    : { label: settings.target ?? '', pick: () => fixed };
  const run = new LoadRun(settings, options, to, plan);
  refuse = (err) => run.refuse(err);
  try {
    return await run.run();
  } finally {
    spread?.stop();
  }
}

/** Where requests go: one base URL, or a Service's backends spread at random. */
interface Destination {
  /** The summary's `target`. */
  label: string;
  /** The base URL of this request; undefined while a Service has no Ready backend. */
  pick: () => URL | undefined;
  spread?: ServiceSpread;
}

class LoadRun {
  private readonly records: LoadRecord[] = [];
  private readonly statuses: Record<string, number> = {};
  private readonly latencies: number[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly stop = new AbortController();
  private readonly clock: Clock;
  private readonly fetch: typeof fetch;
  private readonly out: WriteStream | undefined;
  private t0 = 0;
  private inFlight = 0;
  private maxInFlight = 0;
  private stopped: string | undefined;
  private readonly o: LoadSettings;
  private readonly hooks: LoadOptions;
  private readonly to: Destination;
  private readonly plan: Arrival[];
  private refusal: TargetError | undefined;

  constructor(o: LoadSettings, hooks: LoadOptions, to: Destination, plan: Arrival[]) {
    this.o = o;
    this.hooks = hooks;
    this.to = to;
    this.plan = plan;
    this.clock = hooks.clock ?? loadClock;
    this.fetch = hooks.fetch ?? fetch;
    this.out = o.recordPath ? createWriteStream(o.recordPath) : undefined;
  }

  async run(): Promise<LoadSummary> {
    this.t0 = this.clock.now();
    const capMs = this.o.maxDurationSeconds * 1000;
    const cap = this.clock.setTimeout(
      () => this.halt(`the duration cap (${this.o.maxDurationSeconds} s)`),
      capMs,
    );
    const onAbort = () => this.halt('aborted');
    this.hooks.signal?.addEventListener('abort', onAbort, { once: true });
    if (this.hooks.signal?.aborted) onAbort();
    const ticker = every(this.clock, this.o.progressIntervalMs, () => this.progress(false));
    try {
      for (const [seq, arrival] of this.plan.entries()) {
        await this.until(this.t0 + arrival.atMs);
        if (this.stop.signal.aborted) break;
        this.dispatch(seq, arrival);
      }
      await Promise.all([...this.pending]);
    } finally {
      this.clock.clearTimeout(cap);
      ticker.stop();
      this.hooks.signal?.removeEventListener('abort', onAbort);
      this.progress(true);
      if (this.out) {
        this.out.end();
        await finished(this.out);
      }
    }
    if (this.refusal) throw this.refusal;
    return summarize(this.records, {
      target: this.to.label,
      schedule: this.o.schedule.kind,
      scheduleSeconds: scheduleSeconds(this.o.schedule),
      latencyBoundSeconds: this.o.latencyBoundSeconds,
      maxInFlight: this.maxInFlight,
      stopped: this.stopped,
    });
  }

  /** A backend off loopback appeared: send nothing more, and fail the run with why. */
  refuse(err: TargetError): void {
    this.refusal ??= err;
    this.halt(err.message);
  }

  private halt(reason: string): void {
    this.stopped ??= reason;
    this.stop.abort();
  }

  /** Sleep until `at` on the clock, or until the run is stopped. */
  private until(at: number): Promise<void> {
    const ms = at - this.clock.now();
    if (ms <= 0 || this.stop.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        this.clock.clearTimeout(timer);
        this.stop.signal.removeEventListener('abort', wake);
        resolve();
      };
      const timer = this.clock.setTimeout(wake, ms);
      this.stop.signal.addEventListener('abort', wake);
    });
  }

  private dispatch(seq: number, arrival: Arrival): void {
    const base = {
      seq,
      scheduledS: arrival.atMs / 1000,
      startS: (this.clock.now() - this.t0) / 1000,
      ...this.shape(arrival),
    };
    if (this.inFlight >= this.o.maxInFlight) {
      this.finish({ ...base, latencyS: null, status: 0, error: skipped, pod: null });
      return;
    }
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const sent = this.send(seq, base).finally(() => {
      this.inFlight -= 1;
      this.pending.delete(sent);
    });
    this.pending.add(sent);
  }

  /** Size, steps and n of this request: the trace row's, else the run's (absent: server's). */
  private shape(a: Arrival): Pick<LoadRecord, 'size' | 'steps' | 'n'> {
    const size = a.size ?? this.o.request.size;
    const steps = a.steps ?? this.o.request.steps;
    const n = a.n ?? this.o.request.n;
    return {
      ...(size === undefined ? {} : { size }),
      ...(steps === undefined ? {} : { steps }),
      ...(n === undefined ? {} : { n }),
    };
  }

  private async send(seq: number, base: Omit<LoadRecord, 'latencyS' | 'status' | 'pod'>) {
    const backend = this.to.pick();
    if (!backend) {
      // As kube-proxy rejects a connection to a Service without endpoints.
      const error = `${this.to.label} has no Ready backend`;
      this.finish({ ...base, latencyS: null, status: 0, error, pod: null });
      return;
    }
    const url = new URL(runtimePaths.generate, backend);
    const via = this.to.spread ? { backend: backend.origin } : {};
    const { seed, prompt } = this.o.request;
    const body = {
      prompt: prompt ?? defaultPrompt,
      ...this.shape({ atMs: 0, ...base }),
      ...(seed === undefined ? {} : { seed: (seed + seq) % 2 ** 32 }),
    };
    const timeoutMs = this.o.requestTimeoutSeconds * 1000;
    const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), this.stop.signal]);
    const started = this.clock.now();
    try {
      const res = await this.fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.o.token ? { authorization: `Bearer ${this.o.token}` } : {}),
        },
        body: JSON.stringify(body),
        signal,
      });
      const text = await res.text();
      this.finish({
        ...base,
        ...via,
        latencyS: (this.clock.now() - started) / 1000,
        status: res.status,
        pod: res.headers.get(runtimeHeaders.pod),
        ...answerDetails(text),
      });
    } catch (err) {
      const error = this.stop.signal.aborted
        ? `stopped: ${this.stopped ?? 'aborted'}`
        : signal.aborted
          ? `no answer within ${this.o.requestTimeoutSeconds} s`
          : describe(err);
      this.finish({ ...base, ...via, latencyS: null, status: 0, error, pod: null });
    }
  }

  private finish(record: LoadRecord): void {
    this.records.push(record);
    const key =
      record.status > 0 ? String(record.status) : record.error === skipped ? 'skipped' : 'error';
    this.statuses[key] = (this.statuses[key] ?? 0) + 1;
    if (record.status === 200 && record.latencyS !== null) this.latencies.push(record.latencyS);
    this.out?.write(`${JSON.stringify(record)}\n`);
    this.hooks.onRecord?.(record);
  }

  private progress(final: boolean): void {
    if (!this.hooks.onProgress) return;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    this.hooks.onProgress(
      {
        elapsedS: (this.clock.now() - this.t0) / 1000,
        scheduleSeconds: scheduleSeconds(this.o.schedule),
        sent: this.records.length + this.inFlight,
        total: this.plan.length,
        inFlight: this.inFlight,
        statuses: { ...this.statuses },
        p95S: sorted.length ? percentile(sorted, 95) : null,
      },
      final,
    );
  }
}

/** The error code of a refusal, or the runtime's timings of an image. */
function answerDetails(text: string): Pick<LoadRecord, 'code' | 'queueMs' | 'generationMs'> {
  try {
    const body = JSON.parse(text) as {
      error?: { code?: unknown };
      timings?: { queue_ms?: unknown; generation_ms?: unknown };
    };
    const code = body.error?.code;
    const { queue_ms: queueMs, generation_ms: generationMs } = body.timings ?? {};
    return {
      ...(typeof code === 'string' ? { code } : {}),
      ...(typeof queueMs === 'number' ? { queueMs } : {}),
      ...(typeof generationMs === 'number' ? { generationMs } : {}),
    };
  } catch {
    return {};
  }
}

/** "connect ECONNREFUSED 127.0.0.1:8080" rather than fetch's bare "fetch failed". */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}
