/**
 * A Service spread as kube-proxy spreads it in iptables mode: every new connection goes to one
 * of the Service's Ready, non-terminating endpoints, drawn uniformly at random (one
 * `statistic --mode random` rule per endpoint), whatever that endpoint is busy with. The load
 * generator draws per request, as if each request opened its own connection.
 *
 * The local cluster has no kube-proxy (and no EndpointSlices: its pod IPs are loopback,
 * dev/fleet/service.ts), so the list comes from the API through `list` (serviceBackends) and is
 * refreshed about every second, about as far behind the API as kube-proxy's syncs. A refresh
 * that fails keeps the previous list. Every backend must pass the loopback check: one that does
 * not is never sent to, and the caller hears of it (`onRefused`) to stop the run.
 */
import { every, type Clock } from '../../src/contract/clock.ts';
import { loopbackTarget, TargetError } from './target.ts';

/** One Ready endpoint: its base URL (`http://address:port`) and, if known, its pod. */
export interface ServiceBackend {
  url: string;
  pod?: string;
}

/** The Service's Ready, non-terminating backends now (e.g. dev/fleet/service.ts). */
export type ListBackends = () => Promise<readonly ServiceBackend[]>;

export interface SpreadOptions {
  /** What the errors name: `service NAMESPACE/NAME`. */
  label: string;
  list: ListBackends;
  clock: Clock;
  /** Between two refreshes. */
  refreshMs: number;
  /** Uniform in [0, 1). Default Math.random. */
  random?: () => number;
  /** A refresh found a backend that is not on loopback: nothing was sent to it. */
  onRefused: (err: TargetError) => void;
}

export class ServiceSpread {
  private backends: URL[] = [];
  private refreshing = false;
  private stopped = false;
  private ticker: { stop(): void } | undefined;
  /** Refreshes that failed (the previous list was kept), and the last one's message. */
  failedRefreshes = 0;
  lastRefreshError: string | undefined;
  private readonly o: SpreadOptions;
  private readonly random: () => number;

  private constructor(o: SpreadOptions) {
    this.o = o;
    this.random = o.random ?? Math.random;
  }

  /**
   * The first list, then a refresh every `refreshMs`. Rejects with TargetError when the first
   * list cannot be had or holds a backend off loopback: nothing is sent then.
   */
  static async start(o: SpreadOptions): Promise<ServiceSpread> {
    const spread = new ServiceSpread(o);
    let listed: readonly ServiceBackend[];
    try {
      listed = await o.list();
    } catch (err) {
      throw new TargetError(`${o.label}: cannot list its backends (${describe(err)})`, {
        cause: err,
      });
    }
    spread.backends = spread.checked(listed);
    spread.ticker = every(o.clock, o.refreshMs, () => void spread.refresh());
    return spread;
  }

  /** Base URLs of the backends a request may go to now. */
  current(): readonly URL[] {
    return this.backends;
  }

  /** A uniformly random Ready backend; undefined while the Service has none. */
  pick(): URL | undefined {
    const n = this.backends.length;
    if (n === 0) return undefined;
    return this.backends[Math.min(n - 1, Math.floor(this.random() * n))];
  }

  stop(): void {
    this.stopped = true;
    this.ticker?.stop();
  }

  private async refresh(): Promise<void> {
    // A slow API server: one list at a time, the next tick retries.
    if (this.refreshing || this.stopped) return;
    this.refreshing = true;
    try {
      const listed = await this.o.list();
      if (this.stopped) return;
      this.backends = this.checked(listed);
    } catch (err) {
      if (err instanceof TargetError) {
        // Off loopback: send to none of this list, and stop.
        this.backends = [];
        this.stop();
        this.o.onRefused(err);
        return;
      }
      this.failedRefreshes += 1;
      this.lastRefreshError = describe(err);
    } finally {
      this.refreshing = false;
    }
  }

  /** The backends as URLs, or TargetError naming the first that is not on loopback. */
  private checked(listed: readonly ServiceBackend[]): URL[] {
    return listed.map((b) => {
      try {
        return loopbackTarget(b.url);
      } catch (err) {
        const pod = b.pod ? ` (pod ${b.pod})` : '';
        throw new TargetError(`${this.o.label}: backend${pod} refused: ${(err as Error).message}`, {
          cause: err,
        });
      }
    });
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
