/**
 * The operator process: informers + per-key queue + reconciler, behind leader election.
 * Standbys keep their caches warm and take over within a lease duration.
 *
 * SIGTERM/SIGINT: stop taking work, finish in-flight reconciles, release the Lease, exit 0.
 * Lease not renewed within the renew deadline (API server unreachable): exit 1, so the
 * Deployment restarts the process with a clean slate.
 * A bad flag or variable: one line per problem on stderr, exit 2 (as the runtime), no stack.
 */
import { KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { AutoscalerLoop } from './autoscaling/loop.ts';
import { createAutoscalerMetrics } from './autoscaling/metrics.ts';
import { DirectSource } from './signals/direct/source.ts';
import { exporterLister } from './signals/direct/exporters.ts';
import { createSignalMetrics, SignalMetricsObserver } from './signals/metrics.ts';
import { PrometheusSource } from './signals/prometheus/source.ts';
import { pino } from 'pino';
import { every, systemClock } from '../contract/clock.ts';
import { ConfigError, loadConfig, type OperatorConfig } from './config.ts';
import { EventRecorder } from './events.ts';
import { startHttp } from './http.ts';
import { Caches } from './k8s/caches.ts';
import { Kube } from './k8s/client.ts';
import { LeaderElector } from './leader.ts';
import { createMetrics } from './metrics.ts';
import { WorkQueue } from './queue.ts';
import { Reconciler } from './reconcile.ts';

let config: OperatorConfig;
try {
  config = loadConfig(process.argv.slice(2), process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
}
const log = pino({
  level: config.logLevel,
  base: { component: 'zimage-operator', identity: config.identity },
});
const kubeConfig = new KubeConfig();
if (config.kubeconfig) kubeConfig.loadFromFile(config.kubeconfig);
else kubeConfig.loadFromDefault();
const metrics = createMetrics();
const kube = new Kube(kubeConfig, metrics, config.identity, config.requestTimeoutSeconds * 1000);

let leading = !config.leaderElect;
let synced = false;
let monitoring = false;

const queue = new WorkQueue(
  async (key) => {
    const end = metrics.reconcileDuration.startTimer();
    try {
      const result = await reconciler.reconcile(key);
      metrics.reconciles.inc({ result: result.requeueAfterMs ? 'requeue' : 'success' });
      return result;
    } catch (err) {
      metrics.reconciles.inc({ result: 'error' });
      log.warn({ key, err: String(err) }, 'reconcile failed; retrying with backoff');
      throw err;
    } finally {
      end();
    }
  },
  { concurrency: config.concurrency, onDepthChange: (depth) => metrics.queueDepth.set(depth) },
);

const caches = new Caches({
  kube,
  kubeConfig,
  namespaces: config.watchNamespaces,
  log,
  metrics,
  // Standbys watch too (warm caches) but only the leader reconciles.
  enqueue: (key) => leading && queue.add(key),
  watchdogMs: config.watchdogSeconds * 1000,
  relistMs: config.relistSeconds * 1000,
});

const signalObserver = new SignalMetricsObserver(createSignalMetrics(metrics.registry));
const autoscalerLoop = new AutoscalerLoop({
  listCrs: () => caches.listCrs(),
  podsOf: (namespace, name) => caches.podsOf(namespace, name),
  direct: new DirectSource({
    exporters: exporterLister({
      list: (selector) => kube.list<V1Pod>('v1', 'Pod', undefined, selector),
      selector: config.dcgmExporterSelector,
      clock: systemClock,
    }),
    observer: signalObserver,
  }),
  prometheus: new PrometheusSource({ observer: signalObserver }),
  leading: () => leading,
  enqueue: (key) => queue.add(key),
  clock: systemClock,
  log,
  onSample: (sample) => signalObserver.recordUse(sample, systemClock.now()),
});

const reconciler = new Reconciler({
  kube,
  caches,
  events: new EventRecorder(kube, log),
  log,
  monitoringAvailable: () => monitoring,
  clock: systemClock,
  ...(config.autoscaler
    ? {
        autoscaler: {
          loop: autoscalerLoop,
          metrics: createAutoscalerMetrics(metrics.registry),
        },
      }
    : {}),
});

/** Re-check for the Prometheus Operator CRDs while running: install them later, get monitors. */
async function pollMonitoring(): Promise<void> {
  try {
    const now = await kube.servesGroup('monitoring.coreos.com');
    if (now !== monitoring) {
      monitoring = now;
      log.info({ monitoring }, 'monitoring.coreos.com availability changed');
      caches.enqueueAll();
    }
  } catch (err) {
    log.debug({ err: String(err) }, 'could not check API groups');
  }
}

const http = await startHttp(
  config.httpHost,
  config.httpPort,
  metrics,
  { synced: () => synced, leader: () => leading },
  log,
);
await pollMonitoring();
const monitoringTimer = every(
  systemClock,
  config.monitoringPollSeconds * 1000,
  () => void pollMonitoring(),
);
await caches.start();
synced = true;
if (config.autoscaler) autoscalerLoop.start();
log.info(
  { namespaces: config.watchNamespaces.length ? config.watchNamespaces : 'all' },
  'caches synced',
);

const elector = config.leaderElect
  ? new LeaderElector({
      kubeConfig,
      namespace: config.leaderElectionNamespace,
      name: config.leaseName,
      identity: config.identity,
      log,
      metrics,
      onStarted: () => {
        leading = true;
        caches.enqueueAll();
      },
      onLost: () => {
        leading = false;
        void queue.shutdown();
        log.fatal('lost leadership; exiting so a fresh process can campaign again');
        process.exit(1);
      },
    })
  : undefined;
if (elector) elector.start();
else {
  metrics.leader.set(1);
  caches.enqueueAll();
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down: finishing in-flight reconciles');
  leading = false;
  autoscalerLoop.stop();
  monitoringTimer.stop();
  await queue.shutdown();
  caches.stop();
  await elector?.release();
  await http.close();
  log.info('bye');
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
