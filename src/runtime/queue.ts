/**
 * Admission and ordering of generation requests: one runs at a time (one GPU, one worker);
 * up to `maxQueue` wait behind it; more are refused with a Retry-After estimate. Every request
 * has a deadline counted from arrival: queued past it -> dropped; running past it -> its
 * AbortSignal fires (the pipeline stops at the next step boundary) and the caller is answered
 * at once, while the slot stays busy until the engine really returns, so the next job never
 * shares the GPU with a cancelled one.
 *
 * Pure logic: time comes from an injectable clock; the work is a callback.
 */

import { systemClock, type Clock, type TimerHandle } from '../contract/clock.ts';

export const rejectionReasons = [
  /** Queue full: HTTP 429 with Retry-After. */
  'full',
  /** Shutting down: HTTP 503. */
  'draining',
  /** Deadline passed while queued or running: HTTP 504. */
  'deadline',
  /** The caller's signal aborted (client went away). */
  'aborted',
] as const;
export type RejectionReason = (typeof rejectionReasons)[number];

export class QueueRejection extends Error {
  readonly reason: RejectionReason;
  /** Where the job was when refused: never admitted, waiting, or generating. */
  readonly stage: 'admission' | 'queued' | 'running';
  /** For `full`: seconds until the queue has likely drained, at least 1. */
  readonly retryAfterSeconds: number | undefined;
  constructor(
    reason: RejectionReason,
    stage: QueueRejection['stage'],
    message: string,
    retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'QueueRejection';
    this.reason = reason;
    this.stage = stage;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface QueueTask<T> {
  /** The work; `signal` aborts at the deadline (or when the caller's signal aborts). */
  run: (signal: AbortSignal) => Promise<T>;
  /** Images in the request, so the wait estimate counts work rather than requests. Default 1. */
  weight?: number;
  /** The caller gave up: leave the queue, or abort the running work. */
  signal?: AbortSignal;
}

export interface QueueSnapshot {
  queued: number;
  running: number;
}

export interface QueueOptions {
  /** Jobs that may wait behind the running one. */
  maxQueue: number;
  /** Deadline from arrival, queueing included. */
  deadlineMs: number;
  clock?: Clock;
  onChange?: (snapshot: QueueSnapshot) => void;
  /**
   * Per-image time assumed before any generation has finished. 10 s is a 1024^2 image on a
   * slow GPU; a wrong guess only skews the first Retry-After values.
   */
  initialImageMs?: number;
}

interface Entry {
  weight: number;
  run: (signal: AbortSignal) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  controller: AbortController;
  timer: TimerHandle | undefined;
  settled: boolean;
  state: 'queued' | 'running';
  detach: () => void;
}

/** Generation times kept for the estimate: the last 20 jobs, about a minute of work at 3 s each. */
const recentWindow = 20;

export class GenerationQueue {
  private readonly waiting: Entry[] = [];
  /** The job holding the engine; stays set after a deadline until the engine returns. */
  private current: Entry | undefined;
  private draining = false;
  private readonly drainWaiters: (() => void)[] = [];
  private readonly recentImageMs: number[] = [];
  private readonly o: Required<Omit<QueueOptions, 'onChange'>> & Pick<QueueOptions, 'onChange'>;

  constructor(options: QueueOptions) {
    this.o = { clock: systemClock, initialImageMs: 10_000, ...options };
  }

  snapshot(): QueueSnapshot {
    return { queued: this.waiting.length, running: this.current ? 1 : 0 };
  }

  isDraining(): boolean {
    return this.draining;
  }

  submit<T>(task: QueueTask<T>): Promise<T> {
    if (this.draining) {
      return Promise.reject(
        new QueueRejection('draining', 'admission', 'the server is shutting down'),
      );
    }
    if (task.signal?.aborted) {
      return Promise.reject(new QueueRejection('aborted', 'admission', 'the client went away'));
    }
    const weight = task.weight ?? 1;
    if (this.current && this.waiting.length >= this.o.maxQueue) {
      const seconds = this.estimateWaitSeconds();
      return Promise.reject(
        new QueueRejection(
          'full',
          'admission',
          `queue full (${this.waiting.length} waiting); retry in ${seconds} s`,
          seconds,
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = {
        weight,
        run: task.run,
        resolve: resolve as (value: unknown) => void,
        reject,
        controller: new AbortController(),
        timer: undefined,
        settled: false,
        state: 'queued',
        detach: () => undefined,
      };
      entry.timer = this.o.clock.setTimeout(() => this.expire(entry), this.o.deadlineMs);
      const signal = task.signal;
      if (signal) {
        const onAbort = () =>
          this.stop(entry, new QueueRejection('aborted', entry.state, 'the client went away'));
        signal.addEventListener('abort', onAbort, { once: true });
        entry.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.waiting.push(entry);
      this.pump();
      this.changed();
    });
  }

  /**
   * Refuse new jobs from now on; resolve once every admitted job has finished (including a
   * cancelled one the engine has not yet returned from).
   */
  drain(): Promise<void> {
    this.draining = true;
    return new Promise((resolve) => {
      this.drainWaiters.push(resolve);
      this.checkDrained();
    });
  }

  /**
   * Seconds until everything admitted has likely run: mean recent per-image time x images
   * ahead. E.g. 3 requests of 1 image waiting + 1 of 4 images running, 2.5 s per image:
   * 2.5 x 7 = 17.5 -> 18 s. At least 1 s, at most the deadline (a client retrying later than
   * that would find every current job gone anyway).
   */
  estimateWaitSeconds(): number {
    const samples = this.recentImageMs;
    const imageMs = samples.length
      ? samples.reduce((a, b) => a + b, 0) / samples.length
      : this.o.initialImageMs;
    const images = this.waiting.reduce((sum, e) => sum + e.weight, 0) + (this.current?.weight ?? 0);
    const seconds = Math.ceil((imageMs * images) / 1000);
    return Math.max(1, Math.min(seconds, Math.ceil(this.o.deadlineMs / 1000)));
  }

  private pump(): void {
    if (this.current) return;
    const entry = this.waiting.shift();
    if (!entry) return;
    this.current = entry;
    entry.state = 'running';
    const startedAt = this.o.clock.now();
    // Through a microtask, so a run() that throws synchronously rejects like any other.
    Promise.resolve()
      .then(() => entry.run(entry.controller.signal))
      .then(
        (value) => {
          const perImage = (this.o.clock.now() - startedAt) / entry.weight;
          if (!entry.controller.signal.aborted) this.remember(perImage);
          this.settle(entry, () => entry.resolve(value));
        },
        (err: unknown) => this.settle(entry, () => entry.reject(err)),
      )
      .finally(() => {
        this.current = undefined;
        this.pump();
        this.changed();
        this.checkDrained();
      })
      .catch(() => undefined);
  }

  private expire(entry: Entry): void {
    const seconds = Math.round(this.o.deadlineMs / 1000);
    const where = entry.state === 'queued' ? 'waiting in the queue' : 'generating';
    this.stop(
      entry,
      new QueueRejection('deadline', entry.state, `deadline of ${seconds} s passed while ${where}`),
    );
  }

  /** Answer the caller now; a running job is aborted and keeps the slot until it returns. */
  private stop(entry: Entry, rejection: QueueRejection): void {
    if (entry.settled) return;
    if (entry.state === 'queued') {
      const index = this.waiting.indexOf(entry);
      if (index >= 0) this.waiting.splice(index, 1);
      this.changed();
      this.checkDrained();
    } else {
      entry.controller.abort(rejection);
    }
    this.settle(entry, () => entry.reject(rejection));
  }

  private settle(entry: Entry, answer: () => void): void {
    if (entry.settled) return;
    entry.settled = true;
    this.o.clock.clearTimeout(entry.timer);
    entry.detach();
    answer();
  }

  private remember(imageMs: number): void {
    this.recentImageMs.push(imageMs);
    if (this.recentImageMs.length > recentWindow) this.recentImageMs.shift();
  }

  private changed(): void {
    this.o.onChange?.(this.snapshot());
  }

  private checkDrained(): void {
    if (!this.draining || this.current || this.waiting.length > 0) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }
}
