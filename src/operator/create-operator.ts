/**
 * The operator, wired: informers + per-key queue + reconciler (+ the autoscaler loop), behind
 * leader election. Standbys keep their caches warm and take over within a lease duration.
 *
 * What ends the process stays with the caller (main.ts): signals call stop(); a Lease not
 * renewed within the renew deadline (API server unreachable) calls onLostLeadership, and main
 * exits 1 so the Deployment restarts the process with a clean slate.
 */
import { KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { every, systemClock } from '../contract/clock.ts';
import { AutoscalerLoop } from './autoscaling/loop.ts';
import { createAutoscalerMetrics } from './autoscaling/metrics.ts';
import type { OperatorConfig } from './config.ts';
import { EventRecorder } from './events.ts';
import { startHttp } from './http.ts';
import { Caches } from './k8s/caches.ts';
import { Kube } from './k8s/client.ts';
import { LeaderElector } from './leader.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { WorkQueue } from './queue.ts';
import { Reconciler } from './reconcile.ts';
import { DirectSource } from './signals/direct/source.ts';
import { exporterLister } from './signals/direct/exporters.ts';
import { createSignalMetrics, SignalMetricsObserver } from './signals/metrics.ts';
import { PrometheusSource } from './signals/prometheus/source.ts';
import { urlPolicyOf, type PrometheusUrlPolicy } from './signals/prometheus/url-policy.ts';

export interface OperatorDeps {
  /** Default: JSON lines at config.logLevel, tagged with the identity. */
  log?: Logger;
  /** Default: config.kubeconfig, else KUBECONFIG, else the in-cluster service account. */
  kubeConfig?: KubeConfig;
  /** Leadership was lost; the queue is already shutting down. main.ts exits 1. */
  onLostLeadership: () => void;
}

export interface Operator {
  log: Logger;
  /** Serve probes and /metrics, sync the caches, then lead (no election) or campaign. */
  start(): Promise<void>;
  /** Stop taking work, finish in-flight reconciles, release the Lease, close the HTTP server. */
  stop(reason: string): Promise<void>;
}

export function createOperator(config: OperatorConfig, deps: OperatorDeps): Operator {
  const log =
    deps.log ??
    pino({
      level: config.logLevel,
      base: { component: 'zimage-operator', identity: config.identity },
    });
  const kubeConfig = deps.kubeConfig ?? loadKubeConfig(config);
  const metrics = createMetrics();
  const kube = new Kube(kubeConfig, metrics, config.identity, config.requestTimeoutSeconds * 1000);
  let leading = !config.leaderElect;
  let synced = false;
  let monitoring = false;
  const urlPolicy = urlPolicyOf(config.prometheusUrlAllow, config.prometheusUrlAllowLoopback);

  const queue = new WorkQueue((key) => reconcileCounted(key), {
    concurrency: config.concurrency,
    onDepthChange: (depth) => metrics.queueDepth.set(depth),
    onWait: (ms) => metrics.queueWait.observe(ms / 1000),
  });
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
  const autoscalerLoop = createAutoscalerLoop({
    config,
    urlPolicy,
    kube,
    caches,
    metrics,
    log,
    leading: () => leading,
    enqueue: (key) => queue.add(key),
  });
  const reconciler = new Reconciler({
    kube,
    caches,
    events: new EventRecorder(kube, log),
    log,
    monitoringAvailable: () => monitoring,
    clock: systemClock,
    router: { image: config.routerImage },
    policyPeers: {
      operator: { namespace: config.operatorNamespace, podLabels: config.operatorPodLabels },
      prometheusNamespaces: config.prometheusNamespaceSelector,
    },
    prometheusUrlPolicy: urlPolicy,
    ...(config.autoscaler
      ? {
          autoscaler: {
            loop: autoscalerLoop,
            metrics: createAutoscalerMetrics(metrics.registry),
          },
        }
      : {}),
  });

  async function reconcileCounted(key: string) {
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
  }

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
          deps.onLostLeadership();
        },
      })
    : undefined;

  let running:
    { http: { close(): Promise<unknown> }; monitoringTimer: { stop(): void } } | undefined;
  let stopping: Promise<void> | undefined;
  return {
    log,
    async start() {
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
      running = { http, monitoringTimer };
      await caches.start();
      synced = true;
      if (config.autoscaler) autoscalerLoop.start();
      log.info(
        { namespaces: config.watchNamespaces.length ? config.watchNamespaces : 'all' },
        'caches synced',
      );
      if (elector) elector.start();
      else {
        metrics.leader.set(1);
        caches.enqueueAll();
      }
    },
    stop(reason) {
      stopping ??= (async () => {
        log.info({ signal: reason }, 'shutting down: finishing in-flight reconciles');
        leading = false;
        autoscalerLoop.stop();
        running?.monitoringTimer.stop();
        await queue.shutdown();
        caches.stop();
        await elector?.release();
        await running?.http.close();
        log.info('bye');
      })();
      return stopping;
    },
  };
}

function loadKubeConfig(config: OperatorConfig): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (config.kubeconfig) kubeConfig.loadFromFile(config.kubeconfig);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

interface AutoscalerWiring {
  config: OperatorConfig;
  urlPolicy: PrometheusUrlPolicy;
  kube: Kube;
  caches: Caches;
  metrics: Metrics;
  log: Logger;
  leading: () => boolean;
  enqueue: (key: string) => void;
}

/** The signal sources (direct scrapes, Prometheus) and the loop that samples them. */
function createAutoscalerLoop(w: AutoscalerWiring): AutoscalerLoop {
  const observer = new SignalMetricsObserver(createSignalMetrics(w.metrics.registry));
  return new AutoscalerLoop({
    listCrs: () => w.caches.listCrs(),
    podsOf: (namespace, name) => w.caches.podsOf(namespace, name),
    routersOf: (namespace, name) => w.caches.routersOf(namespace, name),
    direct: new DirectSource({
      exporters: exporterLister({
        list: (selector) => listExporterPods(w.kube, w.config.dcgmExporterNamespaces, selector),
        selector: w.config.dcgmExporterSelector,
        clock: systemClock,
      }),
      observer,
    }),
    prometheus: new PrometheusSource({ observer, urlPolicy: w.urlPolicy }),
    leading: w.leading,
    enqueue: w.enqueue,
    clock: systemClock,
    log: w.log,
    onSample: (sample) => observer.recordUse(sample, systemClock.now()),
  });
}

/**
 * The dcgm-exporter pods: one list across the cluster, or one per named namespace where the
 * token may list pods only there (namespaced mode, --dcgm-exporter-namespaces).
 */
async function listExporterPods(
  kube: Kube,
  namespaces: readonly string[],
  selector: string,
): Promise<{ items: V1Pod[] }> {
  if (namespaces.length === 0) return kube.list<V1Pod>('v1', 'Pod', undefined, selector);
  const lists = await Promise.all(
    namespaces.map((ns) => kube.list<V1Pod>('v1', 'Pod', ns, selector)),
  );
  return { items: lists.flatMap((l) => l.items) };
}
