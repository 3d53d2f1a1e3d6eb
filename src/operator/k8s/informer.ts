/**
 * An informer that does not stay dead. @kubernetes/client-node's informer reconnects on a
 * clean close and relists on 410, but stops for good on any other error; and a watch can
 * stall silently (client-node #364, #596, #958, #2432). This wrapper:
 * - restarts after an error with backoff (1 s doubling to 30 s);
 * - runs a watchdog: no event or reconnect for `watchdogMs` (operator default 60 s) -> replace
 *   the informer, which lists afresh;
 * - relists every `relistMs` (default 600 s) regardless, so a missed event is caught up.
 * Replacing the informer (not just restarting it) forces a full list: the library keeps the
 * old resourceVersion across start().
 *
 * `transform` trims every listed or watched object before the library's cache stores it
 * (k8s/cached.ts), so the untrimmed object is garbage as soon as its event has been handled.
 */
import {
  ListWatch,
  Watch,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { every, systemClock, type Clock, type TimerHandle } from '../../contract/clock.ts';
import type { Metrics } from '../metrics.ts';

export type EventType = 'add' | 'update' | 'delete';

export interface ResilientInformerOptions<
  T extends KubernetesObject,
  Raw extends KubernetesObject = T,
> {
  kubeConfig: KubeConfig;
  /** Human name for logs and metrics, e.g. "deployments". */
  resource: string;
  path: string;
  list: ListPromise<Raw>;
  /** What the cache keeps of each object. Default: all of it. */
  transform?: (obj: Raw) => T;
  labelSelector?: string;
  onEvent: (type: EventType, obj: T) => void;
  log: Logger;
  metrics: Metrics;
  watchdogMs?: number;
  relistMs?: number;
  /** Default: the system clock. */
  clock?: Clock;
}

/** Watch events as the transform leaves them; ERROR and BOOKMARK carry no object to trim. */
class TransformingWatch<T, Raw> extends Watch {
  private readonly transform: (obj: Raw) => T;

  constructor(kubeConfig: KubeConfig, transform: (obj: Raw) => T) {
    super(kubeConfig);
    this.transform = transform;
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const trimmed = (phase: string, obj: unknown, event?: unknown) => {
      const carriesObject = phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED';
      callback(phase, carriesObject ? this.transform(obj as Raw) : obj, event);
    };
    return super.watch(path, queryParams, trimmed, done);
  }
}

/** Build a list function whose items are transformed (the list's resourceVersion stays). */
function transformedList<T extends KubernetesObject, Raw extends KubernetesObject>(
  list: ListPromise<Raw>,
  transform: (obj: Raw) => T,
): ListPromise<T> {
  return async () => {
    const { items, ...rest } = await list();
    return { ...rest, items: items.map(transform) };
  };
}

export class ResilientInformer<T extends KubernetesObject, Raw extends KubernetesObject = T> {
  private informer: (Informer<T> & ObjectCache<T>) | undefined;
  private readonly clock: Clock;
  private lastEventAt: number;
  private lastListAt: number;
  private backoffMs = 1_000;
  private watchdog: { stop(): void } | undefined;
  private retry: TimerHandle | undefined;
  private stopped = false;
  private generation = 0;
  private synced = false;

  private readonly o: ResilientInformerOptions<T, Raw>;

  constructor(options: ResilientInformerOptions<T, Raw>) {
    this.o = options;
    this.clock = options.clock ?? systemClock;
    this.lastEventAt = this.lastListAt = this.clock.now();
  }

  /** Start and resolve after the first successful list. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.replace('start');
    const watchdogMs = this.o.watchdogMs ?? 60_000;
    const relistMs = this.o.relistMs ?? 600_000;
    // Check every 5 s or a fifth of the window, whichever is shorter.
    const tick = Math.min(5_000, Math.max(100, watchdogMs / 5));
    this.watchdog = every(this.clock, tick, () => {
      const now = this.clock.now();
      if (now - this.lastEventAt > watchdogMs) void this.replace('watchdog');
      else if (now - this.lastListAt > relistMs) void this.replace('relist');
    });
  }

  /** True once a list has succeeded. */
  hasSynced(): boolean {
    return this.synced;
  }

  stop(): void {
    this.stopped = true;
    this.watchdog?.stop();
    this.clock.clearTimeout(this.retry);
    void this.informer?.stop();
    this.informer = undefined;
  }

  /** Cached objects (empty until the first list). */
  list(namespace?: string): readonly T[] {
    return this.informer?.list(namespace) ?? [];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer?.get(name, namespace);
  }

  private async replace(reason: 'start' | 'error' | 'watchdog' | 'relist'): Promise<void> {
    if (this.stopped) return;
    const generation = ++this.generation;
    if (reason !== 'start') {
      this.o.metrics.watchRestarts.inc({ resource: this.o.resource, reason });
      // A periodic relist is routine; a watchdog or error restart is worth a warning.
      const level = reason === 'relist' ? 'debug' : 'warn';
      this.o.log[level]({ resource: this.o.resource, reason }, 'restarting informer');
    }
    const previous = this.informer;
    const transform = this.o.transform ?? ((obj: Raw) => obj as unknown as T);
    const informer = new ListWatch<T>(
      this.o.path,
      new TransformingWatch(this.o.kubeConfig, transform),
      transformedList(this.o.list, transform),
      false,
      this.o.labelSelector,
    );
    // Events of the initial list arrive before the swap below; handed on then, a reconcile
    // would read the previous cache, miss the new object and drop the key for good. Hold them
    // until this informer's cache is the one readers see.
    const held: [EventType, T][] = [];
    const seen = (type: EventType) => (obj: T) => {
      if (generation !== this.generation) return;
      this.lastEventAt = this.clock.now();
      if (this.informer === informer) this.o.onEvent(type, obj);
      else held.push([type, obj]);
    };
    informer.on('add', seen('add'));
    informer.on('update', seen('update'));
    informer.on('delete', seen('delete'));
    // A (re)connect counts as life: a quiet resource with a healthy watch is not stalled.
    informer.on('connect', () => {
      if (generation !== this.generation) return;
      this.lastEventAt = this.clock.now();
      this.o.log.trace({ resource: this.o.resource, generation }, 'informer (re)connecting');
    });
    informer.on('error', (err: unknown) => {
      if (generation !== this.generation || this.stopped) return;
      const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
      this.o.log.error(
        { resource: this.o.resource, err: message },
        'informer stopped on error; restarting',
      );
      const delay = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
      this.retry = this.clock.setTimeout(() => {
        this.retry = undefined;
        void this.replace('error');
      }, delay);
    });
    // Until the new informer has listed, readers keep the previous (complete) cache: an
    // empty cache would make every child look missing and trigger needless applies.
    if (!previous) this.informer = informer;
    this.lastEventAt = this.clock.now();
    this.lastListAt = this.clock.now();
    try {
      await informer.start();
    } catch (err) {
      // The library reports list failures through 'error', not by rejecting start().
      this.o.log.debug({ resource: this.o.resource, err }, 'informer start failed');
    }
    if (generation !== this.generation || this.stopped) {
      void informer.stop();
      return;
    }
    if (this.retry === undefined) {
      this.synced = true;
      this.backoffMs = 1_000;
      this.informer = informer;
      if (previous && previous !== informer) void previous.stop();
      for (const [type, obj] of held.splice(0)) this.o.onEvent(type, obj);
    }
  }
}
