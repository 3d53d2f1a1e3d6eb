/**
 * The one clock of both processes: every time read and every timer the operator and the
 * runtime set goes through a `Clock`, so a unit test drives time with one fake
 * (test/support/fake-clock.ts) instead of real waits or patched globals.
 *
 * What stays off it, on purpose:
 * - timers a library owns: fastify's and undici's socket timeouts, close-with-grace,
 *   client-node's 30 s watch inactivity timeout, and the `AbortSignal.timeout` request
 *   deadlines handed to the HTTP client (they abort real I/O; a fake clock has none to abort);
 * - durations reported as metrics (pipeline stage, request and start-up timings):
 *   `performance.now()` is monotonic and sub-millisecond and schedules nothing, so there is
 *   nothing to fake and a wall-clock step must not skew a histogram;
 * - the runtime's force-exit backstop after a fatal engine error (server.ts): it must fire
 *   even if the code that owns the clock is what hangs.
 */

declare const timerBrand: unique symbol;
/** What `setTimeout` returns; only the clock that made it can clear it. */
export type TimerHandle = { readonly [timerBrand]: true };

export interface Clock {
  /** Wall-clock time in epoch milliseconds (timestamps written to the API and durations). */
  now(): number;
  /** Run `fn` once after `ms` (0 or less: on the next turn). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancel a timer; a fired, cleared or missing handle is ignored. */
  clearTimeout(handle: TimerHandle | undefined): void;
}

/**
 * Date.now and Node's timers. The timers are unref'd: every user (queues, watchdog, backoff,
 * lease renewal) runs inside a process that a server, a socket or a worker thread keeps
 * alive, and a pending retry (up to 30 s of backoff) or a 10 min relist must never be what
 * holds a process open after its servers have closed.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref() as unknown as TimerHandle,
  clearTimeout: (handle) => clearTimeout(handle as unknown as NodeJS.Timeout | undefined),
};

/** Resolve after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/**
 * Call `fn` every `ms` until stopped, at a fixed rate (the next call is scheduled before
 * `fn` runs, as setInterval does).
 */
export function every(clock: Clock, ms: number, fn: () => void): { stop(): void } {
  let handle: TimerHandle | undefined;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    handle = clock.setTimeout(tick, ms);
    fn();
  };
  handle = clock.setTimeout(tick, ms);
  return {
    stop: () => {
      stopped = true;
      clock.clearTimeout(handle);
    },
  };
}
