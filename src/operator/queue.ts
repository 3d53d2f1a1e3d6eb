/**
 * A work queue keyed by object ("namespace/name"), after client-go's workqueue:
 * - a key is never processed twice at once: an add while it is processing marks it dirty and
 *   it runs again right after;
 * - adds of a key already waiting collapse into one;
 * - failures back off per key exponentially, 5 ms * 2^n capped at 1000 s (client-go's
 *   ItemExponentialFailureRateLimiter), and all retries share a token bucket (10 qps,
 *   burst 100), so a storm of failing objects cannot hammer the API server.
 */
import { systemClock, type Clock, type TimerHandle } from '../contract/clock.ts';

export interface QueueOptions {
  concurrency?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Token bucket for retries. */
  qps?: number;
  burst?: number;
  clock?: Clock;
  onDepthChange?: (depth: number) => void;
  /** Told how long each key waited, from ready (added, or its delay over) to a worker taking it. */
  onWait?: (ms: number) => void;
}

/** What a worker asks for after a successful run. */
export interface WorkResult {
  requeueAfterMs?: number;
}

export type Worker = (key: string) => Promise<WorkResult | void>;

export class WorkQueue {
  private readonly waiting: string[] = [];
  /** Keys waiting, with when each became ready. */
  private readonly queued = new Map<string, number>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; handle: TimerHandle }>();
  private readonly idleWaiters: (() => void)[] = [];
  private tokens: number;
  private tokensAt: number;
  private stopped = false;
  private readonly o: Required<Omit<QueueOptions, 'onDepthChange' | 'onWait'>> & {
    onDepthChange: ((depth: number) => void) | undefined;
    onWait: ((ms: number) => void) | undefined;
  };
  private readonly worker: Worker;

  constructor(worker: Worker, options: QueueOptions = {}) {
    this.worker = worker;
    this.o = {
      concurrency: options.concurrency ?? 4,
      baseDelayMs: options.baseDelayMs ?? 5,
      maxDelayMs: options.maxDelayMs ?? 1_000_000,
      qps: options.qps ?? 10,
      burst: options.burst ?? 100,
      clock: options.clock ?? systemClock,
      onDepthChange: options.onDepthChange,
      onWait: options.onWait,
    };
    this.tokens = this.o.burst;
    this.tokensAt = this.o.clock.now();
  }

  /** Keys waiting to run (not counting those in progress or delayed). */
  depth(): number {
    return this.waiting.length;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.set(key, this.o.clock.now());
    this.waiting.push(key);
    this.o.onDepthChange?.(this.waiting.length);
    this.pump();
  }

  /** Add after a delay; an earlier pending delay for the key wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const at = this.o.clock.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.o.clock.clearTimeout(pending.handle);
    const handle = this.o.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, handle });
  }

  /** Retry after a failure: the larger of the key's backoff and the shared bucket's wait. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const backoff = Math.min(this.o.baseDelayMs * 2 ** n, this.o.maxDelayMs);
    const delay = Math.max(backoff, this.takeToken());
    this.addAfter(key, delay);
    return delay;
  }

  /** Reset a key's failure count (after a success). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Stop taking work; resolves once in-flight work is done. Delayed adds are dropped. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const { handle } of this.delayed.values()) this.o.clock.clearTimeout(handle);
    this.delayed.clear();
    this.waiting.length = 0;
    this.queued.clear();
    if (this.processing.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Ms until a retry token is free (0 if one is free now); takes it. */
  private takeToken(): number {
    const now = this.o.clock.now();
    this.tokens = Math.min(this.o.burst, this.tokens + ((now - this.tokensAt) / 1000) * this.o.qps);
    this.tokensAt = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.o.qps) * 1000);
  }

  private pump(): void {
    while (!this.stopped && this.processing.size < this.o.concurrency && this.waiting.length > 0) {
      const key = this.waiting.shift()!;
      this.o.onWait?.(this.o.clock.now() - this.queued.get(key)!);
      this.queued.delete(key);
      this.processing.add(key);
      this.o.onDepthChange?.(this.waiting.length);
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    try {
      const result = await this.worker(key);
      this.forget(key);
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    } catch {
      // The worker logs and counts its own errors; the queue only schedules the retry.
      if (!this.stopped) this.addRateLimited(key);
    } finally {
      this.processing.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      if (this.processing.size === 0 && this.stopped)
        this.idleWaiters.splice(0).forEach((r) => r());
      this.pump();
    }
  }
}
