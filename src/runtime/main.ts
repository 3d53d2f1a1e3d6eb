/**
 * The runtime process: `node src/runtime/main.ts`.
 *
 * Start-up order: config -> first live-config read (so sessions are created with the
 * ConfigMap's offload mode, not only the env's) -> HTTP listening (/healthz answers from here
 * on, /readyz says 503 "starting") -> engine start (sessions + warm-up image) -> ready.
 * A failed start exits 1; Kubernetes restarts the pod with backoff.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { podRootEnv } from '../contract/labels.ts';
import { runtimeEnv, type LiveConfig } from '../contract/runtime.ts';
import { buildApp, createQueue } from './app.ts';
import { ConfigError, loadConfig, type RuntimeConfig } from './config.ts';
import { gpuInfo, noBudgetReason } from './fit.ts';
import { LiveConfigWatcher, OffloadFollower } from './live-config.ts';
import { createRuntimeMetrics } from './metrics.ts';
import { serverTimeouts, startServer } from './server.ts';
import { RuntimeState } from './state.ts';
import { WorkerEngine } from './worker/engine-client.ts';

let config: RuntimeConfig;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
}

const log = pino({
  level: config.logLevel,
  base: { component: 'zimage-runtime', pod: process.env[runtimeEnv.podName] },
});
const state = new RuntimeState();
const initial: LiveConfig = { steps: config.steps, offload: config.offload };

// The closures below read `engine`, `server` and `follower`, declared further down; they run
// only after those exist (scrapes and failures need a listening server and a started worker,
// and live changes are ignored while starting).
const metrics = createRuntimeMetrics({
  info: () => (state.phase() === 'starting' ? undefined : engine.info()),
  steps: () => live().steps,
  ready: () => state.ready(),
  pacing: () => (config.pacing && config.gpuCard) || 'off',
});
const watcher = config.liveConfig && liveConfigWatcher(config.liveConfig);
const live = (): LiveConfig => watcher?.currentLiveConfig() ?? initial;
// The first read costs at most one list request (10 s deadline); unreadable -> env values.
if (watcher) await watcher.start();

const engine = new WorkerEngine({
  pipeline: {
    modelDir: config.modelDir,
    executionProvider: config.executionProvider,
    attention: config.attention,
    precision: config.precision,
    offload: live().offload,
    deviceId: config.deviceId,
    maxSize: config.maxResolution,
    ...(config.intraOpThreads === undefined ? {} : { intraOpThreads: config.intraOpThreads }),
    ...(config.pacing && config.gpuCard ? { pacing: { card: config.gpuCard } } : {}),
  },
  warmup: { ...config.warmupSize, steps: config.warmupSteps },
  maxOomRestarts: config.maxOomRestarts,
  onFatal: (reason) => server.fail(reason),
  onRecovering: (recovering) => {
    state.setRecovering(recovering);
    log.warn({ recovering }, recovering ? 'out of memory: recreating sessions' : 'recovered');
  },
  onOutOfMemory: () => metrics.oom.inc(),
});
const follower = new OffloadFollower(engine, live().offload, (mode, err) => {
  if (!err) return log.info({ offload: mode }, 'offload mode applied');
  metrics.configErrors.inc({ reason: 'apply_failed' });
  log.warn({ offload: mode, err }, 'could not switch offload mode; retrying on the next read');
});

const queue = createQueue(config, metrics);

const app = await buildApp({
  config,
  engine,
  queue,
  state,
  metrics,
  liveConfig: live,
  logger: log,
  serverOptions: serverTimeouts,
  podName: process.env[runtimeEnv.podName],
});
const server = await startServer({
  app,
  config,
  engine,
  queue,
  state,
  log,
  ...(watcher ? { liveConfig: watcher } : {}),
});

try {
  await engine.start();
} catch (err) {
  log.fatal({ err }, 'engine start failed (sessions or warm-up generation)');
  process.exit(1);
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

function liveConfigWatcher(target: { configMap: string; namespace: string }) {
  const kubeConfig = new KubeConfig();
  // In the pod: the ServiceAccount token (under the local fleet's pod root when it sets one).
  // KUBECONFIG (tests, local runs) when set.
  if (process.env['KUBECONFIG']) kubeConfig.loadFromDefault();
  else kubeConfig.loadFromCluster(process.env[podRootEnv] ?? '');
  return new LiveConfigWatcher({
    kubeConfig,
    namespace: target.namespace,
    name: target.configMap,
    initial,
    log: log.child({ component: 'live-config' }),
    metrics,
    onConfig: (next) => {
      if (state.phase() !== 'starting') void follower.follow(next.offload);
    },
  });
}
