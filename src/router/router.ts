/**
 * The router app as one factory: `createRouter(config, deps)` wires discovery, the dispatcher,
 * the pods' HTTP client, metrics and the fastify app; main.ts only loads the config and listens.
 * Tests call this factory with their own kubeconfig (and a fake `send` where they fake pods).
 *
 * Shutdown (SIGTERM): /readyz turns 503 at once, so the Service stops sending new clients; new
 * requests are still admitted for `drainDelaySeconds` (endpoints and proxies take a moment to
 * learn it, as Knative's queue-proxy waits before draining); then new requests get 503, every
 * admitted request is answered, and the process exits. An accepted request is never dropped by
 * a graceful stop; a crash loses what was in flight, which its clients see as a reset.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { sleep, systemClock, type Clock } from '../contract/clock.ts';
import { buildRouterApp } from './app.ts';
import { openTokens } from '../image-api/token-settings.ts';
import { createBackend } from './backend.ts';
import type { RouterConfig } from './config.ts';
import { Dispatcher } from './dispatch/dispatcher.ts';
import type { PodTarget, Send } from './dispatch/types.ts';
import { createRouterMetrics, type RouterMetrics } from './metrics.ts';
import { PodWatch } from './pods.ts';

export interface RouterDeps {
  /** For discovery through the API; unused with static pods. */
  kubeConfig?: KubeConfig;
  log: Logger;
  clock?: Clock;
  /** The pods' HTTP client; default undici (backend.ts). */
  send?: Send;
  /** Seconds between readiness off and refusing new requests on shutdown. Default 5. */
  drainDelaySeconds?: number;
}

export interface Router {
  app: FastifyInstance;
  dispatcher: Dispatcher;
  metrics: RouterMetrics;
  /** Start discovery, then listen; resolves with the address. */
  start(): Promise<string>;
  /** Readiness off, admit for the drain delay, answer everything admitted, close. */
  stop(): Promise<void>;
}

export async function createRouter(config: RouterConfig, deps: RouterDeps): Promise<Router> {
  const clock = deps.clock ?? systemClock;
  const metrics = createRouterMetrics();
  const tokens = (setting: RouterConfig['apiToken']) =>
    openTokens(setting, {
      graceSeconds: config.tokenGraceSeconds,
      clock,
      log: deps.log.child({ component: 'auth' }),
    });
  const clientTokens = tokens(config.apiToken);
  const podTokens = tokens(config.podToken);
  const backend = createBackend({
    tokens: podTokens,
    timeoutMs: config.requestTimeoutSeconds * 1000,
  });
  let inflight = 0;
  const dispatcher = new Dispatcher({
    clock,
    send:
      deps.send ??
      (async (pod, image, signal) => {
        inflight++;
        metrics.inflightImages.set(inflight);
        try {
          return await backend.send(pod, image, signal);
        } finally {
          metrics.inflightImages.set(--inflight);
        }
      }),
    slots: config.slots,
    defaultSteps: config.steps,
    limits: {
      maxQueuedImages: config.maxQueue,
      deadlineMs: config.requestTimeoutSeconds * 1000,
      podStartMs: config.podStartSeconds * 1000,
    },
    hooks: {
      onDispatch: (pod) => metrics.dispatches.inc({ pod }),
      onRetry: (reason) => metrics.retries.inc({ reason }),
      onImage: (seconds) => metrics.wait.observe(seconds),
      onArrival: (work) => metrics.arrivedWork.inc(work),
      onQueueChange: (images, work) => {
        metrics.queuedImages.set(images);
        metrics.queuedWork.set(work);
      },
    },
  });
  const publish = (targets: PodTarget[]) => {
    const accepting = targets.filter((t) => t.accepting).length;
    metrics.pods.set({ accepting: 'true' }, accepting);
    metrics.pods.set({ accepting: 'false' }, targets.length - accepting);
    dispatcher.setPods(targets);
  };
  const watch = discovery(config, deps, publish);
  let phase: 'starting' | 'ready' | 'draining' = 'starting';
  const app = await buildRouterApp({
    config,
    tokens: clientTokens,
    dispatcher,
    metrics,
    logger: deps.log,
    ready: () => ({ ready: phase === 'ready' && watch.isSynced(), status: phase }),
  });

  let stopping: Promise<void> | undefined;
  return {
    app,
    dispatcher,
    metrics,
    async start() {
      await watch.start();
      const address = await app.listen({ host: config.host, port: config.port });
      phase = 'ready';
      deps.log.info({ address, selector: config.podSelector }, 'router listening');
      return address;
    },
    stop() {
      stopping ??= (async () => {
        phase = 'draining';
        const delay = (deps.drainDelaySeconds ?? 5) * 1000;
        deps.log.info(
          { delayMs: delay },
          'draining: readiness off; admitting until the delay ends',
        );
        if (delay > 0) await sleep(clock, delay);
        const outstanding = dispatcher.outstanding();
        deps.log.info({ outstanding }, 'draining: refusing new requests; answering admitted ones');
        await dispatcher.drain();
        await app.close();
        watch.stop();
        clientTokens?.stop();
        podTokens?.stop();
        await backend.close();
        deps.log.info('router shut down cleanly');
      })();
      return stopping;
    },
  };
}

interface Discovery {
  start(): Promise<void>;
  isSynced(): boolean;
  stop(): void;
}

/** Pods through the API (a selector), or a fixed list of URLs, each always accepting. */
function discovery(
  config: RouterConfig,
  deps: RouterDeps,
  publish: (targets: PodTarget[]) => void,
): Discovery {
  if (config.staticPods) {
    const targets = config.staticPods.map((url) => ({
      name: new URL(url).host,
      url,
      accepting: true,
    }));
    return {
      start: () => Promise.resolve(publish(targets)),
      isSynced: () => true,
      stop: () => undefined,
    };
  }
  if (!deps.kubeConfig || !config.podSelector || !config.namespace) {
    throw new Error('router: a pod selector needs a namespace and a kubeconfig');
  }
  return new PodWatch({
    kubeConfig: deps.kubeConfig,
    namespace: config.namespace,
    selector: config.podSelector,
    log: deps.log,
    onChange: publish,
  });
}
