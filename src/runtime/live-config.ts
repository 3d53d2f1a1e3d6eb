/**
 * Live config: `steps` and `offload` come from the pod's runtime ConfigMap (key config.json,
 * schema liveConfigSchema), read through the API with the pod's own ServiceAccount, so the
 * operator changes them without restarting the pod.
 *
 * The pod's Role allows get/list/watch on that one object (resourceNames), which Kubernetes
 * RBAC honours for list and watch when the request selects `metadata.name=<name>`. So: list
 * with that field selector (which also tells "missing" apart from "quiet"), then watch from the
 * list's resourceVersion. client-node's watch ends on any error and after 30 s without data
 * (its inactivity timeout); either way we list and watch again: at once after a clean end, with
 * backoff (1 s doubling to 30 s) after an error.
 *
 * A document that is missing, unreadable or invalid never replaces the last good one: the
 * runtime keeps serving with what it has, logs the reason once per new reason and counts every
 * occurrence in zimage_config_errors_total{reason}.
 */
import {
  CoreV1Api,
  createConfiguration,
  ServerConfiguration,
  Watch,
  type KubeConfig,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { systemClock, type Clock, type TimerHandle } from '../contract/clock.ts';
import {
  liveConfigKey,
  liveConfigSchema,
  type LiveConfig,
  type OffloadMode,
} from '../contract/runtime.ts';
import { describeApiError } from '../formats/api-status.ts';
import type { Engine } from './engine.ts';
import type { ConfigErrorReason, RuntimeMetrics } from './metrics.ts';
import { keyOf } from '../contract/object-key.ts';

export type ReadResult =
  { ok: true; config: LiveConfig } | { ok: false; reason: ConfigErrorReason; message: string };

/** What a ConfigMap (or its absence) says, without side effects. */
export function readLiveConfig(configMap: Pick<V1ConfigMap, 'data'> | undefined): ReadResult {
  if (!configMap) return { ok: false, reason: 'missing', message: 'the ConfigMap does not exist' };
  const text = configMap.data?.[liveConfigKey];
  if (text === undefined) {
    return { ok: false, reason: 'missing_key', message: `no "${liveConfigKey}" key` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: 'invalid_json', message: `${liveConfigKey}: ${String(err)}` };
  }
  const parsed = liveConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    return { ok: false, reason: 'invalid_config', message: issues.join('; ') };
  }
  return { ok: true, config: parsed.data };
}

/** Keeps the last good config; says whether a read changed it. */
export class LiveConfigStore {
  private good: LiveConfig;
  constructor(initial: LiveConfig) {
    this.good = initial;
  }

  current(): LiveConfig {
    return this.good;
  }

  /** Take a read; returns the previous config when it changed, undefined otherwise. */
  offer(result: ReadResult): LiveConfig | undefined {
    if (!result.ok) return undefined;
    const previous = this.good;
    if (previous.steps === result.config.steps && previous.offload === result.config.offload) {
      return undefined;
    }
    this.good = result.config;
    return previous;
  }
}

/**
 * Moves the engine to the desired offload mode, one switch at a time. Called with every good
 * read (level-based): a switch that failed is retried on the next read, at most every 30 s.
 */
export class OffloadFollower {
  private applied: OffloadMode;
  private desired: OffloadMode;
  private busy = false;
  private readonly engine: Pick<Engine, 'setOffload'>;
  private readonly onResult: (mode: OffloadMode, err?: unknown) => void;

  constructor(
    engine: Pick<Engine, 'setOffload'>,
    applied: OffloadMode,
    onResult: (mode: OffloadMode, err?: unknown) => void,
  ) {
    this.engine = engine;
    this.applied = applied;
    this.desired = applied;
    this.onResult = onResult;
  }

  follow(desired: OffloadMode): Promise<void> {
    this.desired = desired;
    return this.busy ? Promise.resolve() : this.loop();
  }

  private async loop(): Promise<void> {
    this.busy = true;
    try {
      while (this.desired !== this.applied) {
        const target = this.desired;
        await this.engine.setOffload(target);
        this.applied = target;
        this.onResult(target);
      }
    } catch (err) {
      this.onResult(this.desired, err);
    } finally {
      this.busy = false;
    }
  }
}

export interface LiveConfigWatcherOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  initial: LiveConfig;
  log: Logger;
  metrics: RuntimeMetrics;
  /** Every good read (changed or not), so consumers can converge on it. */
  onConfig?: (config: LiveConfig, previous: LiveConfig | undefined) => void;
  /** Deadline of the list request. Default 10 s. */
  requestTimeoutMs?: number;
  /** Times the retries. Default: the system clock. */
  clock?: Clock;
}

const backoff = { initialMs: 1_000, maxMs: 30_000 };

export class LiveConfigWatcher {
  private readonly o: LiveConfigWatcherOptions;
  private readonly clock: Clock;
  private readonly store: LiveConfigStore;
  private readonly core: CoreV1Api;
  private readonly fieldSelector: string;
  private abort: AbortController | undefined;
  private retry: TimerHandle | undefined;
  private delayMs = backoff.initialMs;
  private lastProblem: string | undefined;
  private stopped = false;

  constructor(options: LiveConfigWatcherOptions) {
    this.o = options;
    this.clock = options.clock ?? systemClock;
    this.store = new LiveConfigStore(options.initial);
    this.fieldSelector = `metadata.name=${options.name}`;
    const cluster = options.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.core = new CoreV1Api(
      createConfiguration({
        baseServer: new ServerConfiguration(cluster.server, {}),
        authMethods: { default: options.kubeConfig },
        // The generated client waits forever by default; a stalled connection would stall
        // live config with it.
        promiseMiddleware: [
          {
            pre: (context) => {
              context.setSignal(AbortSignal.timeout(timeoutMs));
              return Promise.resolve(context);
            },
            post: (response) => Promise.resolve(response),
          },
        ],
      }),
    );
  }

  currentLiveConfig(): LiveConfig {
    return this.store.current();
  }

  /** Resolves after the first read, good or not (start-up may then use currentLiveConfig()). */
  start(): Promise<void> {
    this.stopped = false;
    return this.cycle();
  }

  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.retry);
    this.abort?.abort();
  }

  /** One list, then a watch that schedules the next cycle when it ends. */
  private async cycle(): Promise<void> {
    if (this.stopped) return;
    let resourceVersion: string | undefined;
    try {
      const list = await this.core.listNamespacedConfigMap({
        namespace: this.o.namespace,
        fieldSelector: this.fieldSelector,
      });
      resourceVersion = list.metadata?.resourceVersion;
      this.take(list.items[0]);
    } catch (err) {
      this.problem('unreadable', describeApiError(err));
      this.again(true);
      return;
    }
    this.delayMs = backoff.initialMs;
    // Not awaited: start-up needs the list, not the watch connection (up to 30 s to fail).
    void this.watch(resourceVersion);
  }

  private async watch(resourceVersion: string | undefined): Promise<void> {
    const path = `/api/v1/namespaces/${this.o.namespace}/configmaps`;
    const query = { fieldSelector: this.fieldSelector, resourceVersion, allowWatchBookmarks: true };
    // The library may report an end both through `done` and by throwing: act on the first.
    let ended = false;
    const end = (err: unknown) => {
      if (ended) return;
      ended = true;
      this.onWatchEnd(err);
    };
    try {
      const controller = await new Watch(this.o.kubeConfig).watch(
        path,
        query,
        (phase, object: V1ConfigMap) => this.onEvent(phase, object),
        end,
      );
      this.abort = controller;
      if (this.stopped) controller.abort();
    } catch (err) {
      end(err);
    }
  }

  private onEvent(phase: string, object: V1ConfigMap): void {
    if (phase === 'ADDED' || phase === 'MODIFIED') this.take(object);
    else if (phase === 'DELETED') this.take(undefined);
    // ERROR (e.g. 410 Gone: our resourceVersion is too old): end this watch; list again.
    else if (phase === 'ERROR') this.abort?.abort();
  }

  private onWatchEnd(err: unknown): void {
    if (this.stopped) return;
    // A clean close, our own abort, or the 30 s inactivity timeout: just list and watch again.
    const routine =
      !err || (err instanceof Error && ['AbortError', 'TimeoutError'].includes(err.name));
    if (!routine) this.problem('unreadable', `watch failed: ${describeApiError(err)}`);
    this.again(!routine);
  }

  private again(afterError: boolean): void {
    if (this.stopped) return;
    const delay = afterError ? this.delayMs : 0;
    if (afterError) this.delayMs = Math.min(this.delayMs * 2, backoff.maxMs);
    this.retry = this.clock.setTimeout(() => void this.cycle(), delay);
  }

  private take(configMap: V1ConfigMap | undefined): void {
    const result = readLiveConfig(configMap);
    if (!result.ok) {
      this.problem(result.reason, result.message);
      return;
    }
    if (this.lastProblem !== undefined) this.o.log.info('live config readable again');
    this.lastProblem = undefined;
    const previous = this.store.offer(result);
    if (previous) this.o.log.info({ from: previous, to: result.config }, 'live config changed');
    this.o.onConfig?.(result.config, previous);
  }

  private problem(reason: ConfigErrorReason, message: string): void {
    this.o.metrics.configErrors.inc({ reason });
    const key = `${reason}: ${message}`;
    if (key === this.lastProblem) return;
    this.lastProblem = key;
    this.o.log.warn(
      { reason, configMap: keyOf(this.o), keeping: this.store.current() },
      `live config not applied (${message}); keeping the last good config`,
    );
  }
}
