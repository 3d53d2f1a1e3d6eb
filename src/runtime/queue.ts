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
import { stepsRange } from '../contract/runtime.ts';
import { WaitEstimator, type Work } from '../contract/wait-estimate.ts';

import { systemClock, type Clock, type TimerHandle } from '../contract/clock.ts';

export const rejectionReasons = [
  /** Queue full: HTTP 429 with Retry-After. */
  'full',
  /**
   * The work ahead plus this request would run past its deadline, by rates learned here: HTTP
   * 429 with Retry-After at once, rather than run and fail at the deadline.
   */
  'late',
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
  /** What the request asks for, so the wait estimate counts work rather than requests. */
  work?: Work;
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
  /** Turns queued work into Retry-After seconds; fed by the caller with finished images. */
  estimator?: WaitEstimator;
}

/** Work of a task that does not say: one 1024x1024 image at the default steps. */
const defaultWork: Work = { images: 1, width: 1024, height: 1024, steps: stepsRange.default };

interface Entry {
  work: Work;
  /** Clock time it started running. */
  startedAt: number;
  run: (signal: AbortSignal) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  controller: AbortController;
  timer: TimerHandle | undefined;
  settled: boolean;
  state: 'queued' | 'running';
  /** Its work has returned (the engine is free of it), though the slot is released a turn later. */
  returned: boolean;
  detach: () => void;
}

export class GenerationQueue {
  private readonly waiting: Entry[] = [];
  /** The job holding the engine; stays set after a deadline until the engine returns. */
  private current: Entry | undefined;
  private draining = false;
  private readonly drainWaiters: (() => void)[] = [];
  private readonly o: Required<Omit<QueueOptions, 'onChange'>> & Pick<QueueOptions, 'onChange'>;

  constructor(options: QueueOptions) {
    this.o = { clock: systemClock, estimator: new WaitEstimator(), ...options };
  }

  /** The wait estimator; the generate route feeds it every finished image. */
  get estimator(): WaitEstimator {
    return this.o.estimator;
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
    const late = this.lateBy(task.work ?? defaultWork);
    if (late) return Promise.reject(late);
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = {
        work: task.work ?? defaultWork,
        startedAt: 0,
        run: task.run,
        resolve: resolve as (value: unknown) => void,
        reject,
        controller: new AbortController(),
        timer: undefined,
        settled: false,
        state: 'queued',
        returned: false,
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
   * Seconds until everything admitted has likely run: what is left of the running job plus
   * every queued one, by their sizes and steps (wait-estimate.ts). At least 1 s, at most the
   * deadline.
   */
  estimateWaitSeconds(): number {
    const current = this.current;
    const running = current && {
      work: current.work,
      elapsedMs: this.o.clock.now() - current.startedAt,
    };
    return this.o.estimator.waitSeconds(
      running,
      this.waiting.map((e) => e.work),
      Math.ceil(this.o.deadlineMs / 1000),
    );
  }

  /**
   * A refusal when `work` cannot finish before its deadline behind what is admitted, e.g. 8
   * images at 18.7 s (the 16 GB card) = 150 s against 120 s. Only on rates learned from this
   * pod's own images: the prior (10 s a 1024^2 image) must never refuse a fast pod's first
   * requests.
   */
  private lateBy(work: Work): QueueRejection | undefined {
    const estimator = this.o.estimator;
    if (!estimator.learned()) return undefined;
    const finishMs = this.backlogMs() + estimator.workMs(work);
    if (finishMs <= this.o.deadlineMs) return undefined;
    const seconds = this.estimateWaitSeconds();
    const s = (ms: number) => (ms / 1000).toFixed(1);
    return new QueueRejection(
      'late',
      'admission',
      `${work.images} image(s) would finish in about ${s(finishMs)} s, past the ${s(this.o.deadlineMs)} s deadline; retry in ${seconds} s`,
      seconds,
    );
  }

  /**
   * Expected ms of the work admitted and not yet done: the queued jobs, and what is left of the
   * running one unless its work has already returned (a response being written reports only
   * what follows it). Unrounded, for a router's placement (the Retry-After rounds to seconds).
   */
  backlogMs(): number {
    const estimator = this.o.estimator;
    let ms = this.waiting.reduce((sum, e) => sum + estimator.workMs(e.work), 0);
    const current = this.current;
    if (current && !current.returned) {
      const elapsed = this.o.clock.now() - current.startedAt;
      ms += Math.max(0, estimator.workMs(current.work) - elapsed);
    }
    return ms;
  }

  private pump(): void {
    if (this.current) return;
    const entry = this.waiting.shift();
    if (!entry) return;
    this.current = entry;
    entry.state = 'running';
    entry.startedAt = this.o.clock.now();
    // Through a microtask, so a run() that throws synchronously rejects like any other.
    Promise.resolve()
      .then(() => entry.run(entry.controller.signal))
      .then(
        (value) => {
          entry.returned = true;
          this.settle(entry, () => entry.resolve(value));
        },
        (err: unknown) => {
          entry.returned = true;
          this.settle(entry, () => entry.reject(err));
        },
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

  private changed(): void {
    this.o.onChange?.(this.snapshot());
  }

  private checkDrained(): void {
    if (!this.draining || this.current || this.waiting.length > 0) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }
}
