/**
 * kubelet's crash back-off for restarting a container: the first restart at once, then 10 s,
 * doubling to 5 min; a container that ran 10 min without crashing starts over (kubelet keeps
 * back-off entries for 2 x the 5 min cap). The base is a parameter so tests need not wait 10 s.
 */
export interface BackoffOptions {
  /** Default 10 000 ms (kubelet's initial container back-off). */
  baseMs?: number;
  /** Default 300 000 ms. */
  maxMs?: number;
  /** A run at least this long resets the back-off. Default 600 000 ms. */
  resetAfterMs?: number;
}

export class CrashBackoff {
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly resetAfterMs: number;
  private crashes = 0;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 10_000;
    this.maxMs = options.maxMs ?? 300_000;
    this.resetAfterMs = options.resetAfterMs ?? 600_000;
  }

  /** Delay before the next start, given how long the container that just exited ran. */
  next(ranMs: number): number {
    if (ranMs >= this.resetAfterMs) this.crashes = 0;
    this.crashes++;
    if (this.crashes === 1) return 0;
    return Math.min(this.maxMs, this.baseMs * 2 ** (this.crashes - 2));
  }
}
