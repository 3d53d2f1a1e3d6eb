/**
 * A counter's past values per scraped pod, for rates over windows of several minutes: the
 * routers' arrived work, read over a toDemand rule's stable and panic windows (60 s and 10 s
 * by default, up to 10 min). One entry per second at most (a faster tick replaces the newest),
 * so 10 min cost 600 numbers a router whatever the interval.
 */

interface Entry {
  at: number;
  value: number;
}

/** Entries a pod keeps: 10 min of 1 s, and a minute more for the oldest edge. */
const maxEntries = 660;
const spacingMs = 1000;

export class CounterRing {
  private readonly rings = new Map<string, Entry[]>();

  record(pod: string, at: number, value: number): void {
    const ring = this.rings.get(pod) ?? [];
    const last = ring[ring.length - 1];
    if (last && last.at >= at) return;
    const prev = ring[ring.length - 2];
    // Keep one entry a second: the newest moves forward until a second has passed.
    if (last && prev && last.at - prev.at < spacingMs) ring.pop();
    ring.push({ at, value });
    if (ring.length > maxEntries) ring.splice(0, ring.length - maxEntries);
    this.rings.set(pod, ring);
  }

  keepOnly(pods: ReadonlySet<string>): void {
    for (const pod of this.rings.keys()) if (!pods.has(pod)) this.rings.delete(pod);
  }

  /**
   * The increase over the last `windowMs` before `at` (this tick's scrape must be the newest),
   * from the newest entry at or before the window's start (or the oldest there is), and the
   * span it covers. A value that went down is a restart: the increase counts from zero, as
   * rate() does.
   */
  increase(
    pod: string,
    at: number,
    windowMs: number,
  ): { value: number; spanMs: number } | undefined {
    const ring = this.rings.get(pod);
    const last = ring?.[ring.length - 1];
    if (!ring || !last || last.at !== at || ring.length < 2) return undefined;
    let from = 0;
    for (let i = ring.length - 2; i >= 0; i--) {
      from = i;
      if (ring[i]!.at <= at - windowMs) break;
    }
    let value = 0;
    for (let i = from + 1; i < ring.length; i++) {
      const step = ring[i]!.value - ring[i - 1]!.value;
      value += step >= 0 ? step : ring[i]!.value;
    }
    return { value, spanMs: at - ring[from]!.at };
  }
}
