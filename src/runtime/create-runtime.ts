/**
 * The runtime, wired. Start-up order: createRuntime reads the live config once (so sessions
 * are created with the ConfigMap's offload mode, not only the env's) and builds the app;
 * listen() serves (/healthz answers from here on, /readyz says 503 "starting"); start() creates
 * the engine's sessions and warm-up image, then the runtime is ready. main.ts runs all three;
 * unit tests inject a fake engine and drive the app with app.inject(), never listening.
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Clock } from '../contract/clock.ts';
import { podRootEnv } from '../contract/labels.ts';
import { runtimeEnv, type LiveConfig } from '../contract/runtime.ts';
import { openTokens } from '../image-api/token-settings.ts';
import { buildApp, createQueue, type AppDeps } from './app.ts';
import type { RuntimeConfig } from './config.ts';
import type { Engine } from './engine.ts';
import { gpuInfo, noBudgetReason } from './fit.ts';
import { LiveConfigWatcher, OffloadFollower } from './live-config.ts';
import { createRuntimeMetrics, type RuntimeMetrics } from './metrics.ts';
import type { GenerationQueue } from './queue.ts';
import { serverTimeouts, startServer, type RunningServer } from './server.ts';
import { RuntimeState, type StartupTimings } from './state.ts';
import { WorkerEngine, type WorkerEngineOptions } from './worker/engine-client.ts';

/** What the runtime asks of the engine it is given. */
export type EngineHooks = Pick<WorkerEngineOptions, 'onFatal' | 'onRecovering' | 'onOutOfMemory'>;

export interface RuntimeDeps {
  /** The process environment: ZIMAGE_POD_NAME, and KUBECONFIG or the pod root for the API. */
  env: Record<string, string | undefined>;
  /** Default: JSON lines at config.logLevel, tagged with the pod name. */
  log?: Logger;
  /** Default: the worker-thread engine over ONNX Runtime, on the live offload mode. */
  engine?: (hooks: EngineHooks) => Engine & { readonly startup?: StartupTimings | undefined };
  /** The generation queue's clock. Default: the system clock. */
  clock?: Clock;
  /** Socket timeouts. Default: serverTimeouts (server.ts). */
  serverOptions?: AppDeps['serverOptions'];
}

export interface Runtime {
  app: FastifyInstance;
  engine: Engine;
  queue: GenerationQueue;
  state: RuntimeState;
  metrics: RuntimeMetrics;
  /** The live config now (default steps, offload mode). */
  live(): LiveConfig;
  /** Listen on config.host:config.port; signals drain and close (server.ts). */
  listen(): Promise<RunningServer>;
  /** Sessions and the warm-up image, then ready; rejects (logged) when the engine cannot start. */
  start(): Promise<void>;
}

export async function createRuntime(config: RuntimeConfig, deps: RuntimeDeps): Promise<Runtime> {
  const podName = deps.env[runtimeEnv.podName];
  const log =
    deps.log ??
    pino({ level: config.logLevel, base: { component: 'zimage-runtime', pod: podName } });
  const state = new RuntimeState();
  const initial: LiveConfig = { steps: config.steps, offload: config.offload };
  let server: RunningServer | undefined;

  // The closures below read `engine` and `follower`, declared further down; they run only
  // after those exist (scrapes need a listening server and a started engine, and live changes
  // are ignored while starting).
  const metrics = createRuntimeMetrics({
    info: () => (state.phase() === 'starting' ? undefined : engine.info()),
    steps: () => live().steps,
    ready: () => state.ready(),
    pacing: () => (config.pacing && config.gpuCard) || 'off',
  });
  const watcher =
    config.liveConfig &&
    new LiveConfigWatcher({
      kubeConfig: apiAccess(deps.env),
      namespace: config.liveConfig.namespace,
      name: config.liveConfig.configMap,
      initial,
      log: log.child({ component: 'live-config' }),
      metrics,
      onConfig: (next) => {
        if (state.phase() !== 'starting') void follower.follow(next.offload);
      },
    });
  const live = (): LiveConfig => watcher?.currentLiveConfig() ?? initial;
  // The first read costs at most one list request (10 s deadline); unreadable -> env values.
  if (watcher) await watcher.start();

  const hooks: EngineHooks = {
    // A fatal failure comes from a started engine, so after listen().
    onFatal: (reason) => server?.fail(reason),
    onRecovering: (recovering) => {
      state.setRecovering(recovering);
      log.warn({ recovering }, recovering ? 'out of memory: recreating sessions' : 'recovered');
    },
    onOutOfMemory: () => metrics.oom.inc(),
  };
  const engine = deps.engine?.(hooks) ?? workerEngine(config, live().offload, hooks);
  const follower = new OffloadFollower(engine, live().offload, (mode, err) => {
    if (!err) return log.info({ offload: mode }, 'offload mode applied');
    metrics.configErrors.inc({ reason: 'apply_failed' });
    log.warn({ offload: mode, err }, 'could not switch offload mode; retrying on the next read');
  });
  const queue = createQueue(config, metrics, deps.clock);
  const tokens = openTokens(config.apiToken, {
    graceSeconds: config.tokenGraceSeconds,
    log: log.child({ component: 'auth' }),
  });
  const app = await buildApp({
    config,
    tokens,
    engine,
    queue,
    state,
    metrics,
    liveConfig: live,
    logger: log,
    serverOptions: deps.serverOptions ?? serverTimeouts,
    podName,
  });
  app.addHook('onClose', (_app, done) => {
    tokens?.stop();
    done();
  });

  return {
    app,
    engine,
    queue,
    state,
    metrics,
    live,
    async listen() {
      const liveConfig = watcher ? { liveConfig: watcher } : {};
      server = await startServer({ app, config, engine, queue, state, log, ...liveConfig });
      return server;
    },
    async start() {
      try {
        await engine.start();
      } catch (err) {
        log.fatal({ err }, 'engine start failed (sessions or warm-up generation)');
        throw new Error('engine start failed', { cause: err });
      }
      const startup = engine.startup;
      if (startup) {
        metrics.warmup.set({ phase: 'sessions' }, startup.sessionsSeconds);
        metrics.warmup.set({ phase: 'generation' }, startup.generationSeconds);
      }
      state.markStarted(startup);
      log.info({ startup, info: engine.info(), live: live(), gpu: gpuInfo(config) }, 'ready');
      const unchecked = noBudgetReason(config);
      if (unchecked) log.info(unchecked);
      // A change read while the engine was starting is applied now.
      void follower.follow(live().offload);
    },
  };
}

function workerEngine(config: RuntimeConfig, offload: LiveConfig['offload'], hooks: EngineHooks) {
  return new WorkerEngine({
    pipeline: {
      modelDir: config.modelDir,
      executionProvider: config.executionProvider,
      attention: config.attention,
      precision: config.precision,
      offload,
      deviceId: config.deviceId,
      maxSize: config.maxResolution,
      ...(config.intraOpThreads === undefined ? {} : { intraOpThreads: config.intraOpThreads }),
      ...(config.pacing && config.gpuCard ? { pacing: { card: config.gpuCard } } : {}),
    },
    warmup: { ...config.warmupSize, steps: config.warmupSteps },
    maxOomRestarts: config.maxOomRestarts,
    ...hooks,
  });
}

/**
 * In the pod: the ServiceAccount token (under the local fleet's pod root when it sets one).
 * KUBECONFIG (tests, local runs) when set.
 */
function apiAccess(env: RuntimeDeps['env']): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (env['KUBECONFIG']) kubeConfig.loadFromDefault();
  else kubeConfig.loadFromCluster(env[podRootEnv] ?? '');
  return kubeConfig;
}
