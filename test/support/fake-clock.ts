/**
 * The one fake of src/contract/clock.ts: time moves only when a test calls advance(), and
 * every timer fires at its own due time, with now() equal to that time while it runs.
 */
import { sleep, type Clock, type TimerHandle } from '../../src/contract/clock.ts';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/** Let promise chains and I/O callbacks settle (one turn of the real event loop). */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

export class FakeClock implements Clock {
  private t: number;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.t + Math.max(0, ms), fn });
    return id as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    this.timers.delete(handle as unknown as number);
  }

  sleep(ms: number): Promise<void> {
    return sleep(this, ms);
  }

  /** Ms from now until each pending timer is due, soonest first. */
  pending(): number[] {
    return [...this.timers.values()].map((t) => t.at - this.t).sort((a, b) => a - b);
  }

  /**
   * Move time forward by `ms`: fire every timer due by then in due order (ties in the order
   * they were set), including timers that callbacks set along the way, letting promise chains
   * settle after each; then stop at exactly `ms` later.
   */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new Error(`advance(${ms}): time only moves forward`);
    const end = this.t + ms;
    await settle();
    for (let due = this.nextDue(end); due; due = this.nextDue(end)) {
      this.timers.delete(due.id);
      this.t = due.at;
      due.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }

  private nextDue(end: number): Timer | undefined {
    let next: Timer | undefined;
    for (const timer of this.timers.values()) {
      // Map iteration is insertion order, so `<` keeps the earliest-set of equal due times.
      if (timer.at <= end && (!next || timer.at < next.at)) next = timer;
    }
    return next;
  }
}
