/**
 * The simulator's event queue: a binary heap ordered by time, then priority (at one instant
 * requests finish and arrive before the metrics sample, and the sample before a controller
 * reads it), then insertion order, so a run is the same on every machine.
 */
export interface SimEvent {
  at: number;
  priority: number;
  run: () => void;
}

interface Entry extends SimEvent {
  seq: number;
}

const before = (a: Entry, b: Entry) =>
  a.at !== b.at ? a.at < b.at : a.priority !== b.priority ? a.priority < b.priority : a.seq < b.seq;

export class EventQueue {
  private heap: Entry[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  /**
   * A place in the insertion order, for an event pushed later that must sort as if pushed now
   * (a deadline timer: pull-queue.ts).
   */
  reserve(): number {
    return this.seq++;
  }

  push(event: SimEvent, seq: number = this.seq++): void {
    const heap = this.heap;
    heap.push({ at: event.at, priority: event.priority, run: event.run, seq });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  pop(): SimEvent | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      this.sink(0);
    }
    return top;
  }

  private sink(start: number): void {
    const heap = this.heap;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < heap.length && before(heap[l]!, heap[best]!)) best = l;
      if (r < heap.length && before(heap[r]!, heap[best]!)) best = r;
      if (best === i) return;
      [heap[i], heap[best]] = [heap[best]!, heap[i]!];
      i = best;
    }
  }
}

/**
 * Same-instant order: arrivals, then other work, then the metrics sample, then controllers.
 * Arrivals come first because the run schedules each one only when the one before it runs
 * (run.ts: a 23-day trace is millions of rows, not millions of pending events); their own
 * priority keeps them where scheduling them all up front put them, ahead of same-instant work.
 */
export const priorities = { arrival: 0, work: 1, sample: 2, control: 3 } as const;
