/**
 * Prometheus for the local fleet, finding its targets the Kubernetes way: kubernetes_sd_configs
 * (role pod) against the local API server, as a ServiceAccount with a ClusterRole to list and
 * watch pods, and the relabelling our ServiceMonitor implies (namespace, pod, container,
 * endpoint, and app.kubernetes.io/instance as prometheus-operator's podTargetLabels names it).
 * No target lists are written by anyone. 1 s scrapes, so a 5 s rule window holds 5 samples.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CoreV1Api, RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { instanceMetaLabel, seriesLabels } from '../../src/contract/metrics.ts';
import { runtimePaths, runtimePortName } from '../../src/contract/runtime.ts';
import {
  labelKeys,
  routerSelectorLabels,
  selectorLabels,
} from '../../src/operator/api/v1alpha1/names.ts';
import { startPrometheus, type PrometheusInstance } from '../prometheus.ts';
import { recordPid } from '../state.ts';
import { binaryPath } from '../tools.ts';
import { dcgmLabels, dcgmNamespace, dcgmPortName } from './daemonset.ts';

export const monitoringNamespace = 'monitoring';
export const runtimeJob = 'zimage-runtime';
export const dcgmJob = 'dcgm-exporter';

/** A Kubernetes label as a Prometheus label name: app.kubernetes.io/instance -> app_kubernetes_io_instance. */
export const promLabel = (key: string) => key.replace(/[^a-zA-Z0-9_]/g, '_');
/** The label that names a pod's ZImageDeployment in every runtime series. */
export const instanceLabel = promLabel(labelKeys.instance);

export interface SdAccess {
  apiServer: string;
  caFile: string;
  tokenFile: string;
}

const meta = (name: string) => `__meta_kubernetes_pod_${name}`;
const copy = (from: string, to: string) => ({ source_labels: [from], target_label: to });

function sd(access: SdAccess, label: string, namespaces?: string[]) {
  return {
    role: 'pod',
    api_server: access.apiServer,
    authorization: { credentials_file: access.tokenFile },
    tls_config: { ca_file: access.caFile },
    ...(namespaces ? { namespaces: { names: namespaces } } : {}),
    // Server-side filtering: Prometheus watches only our pods, not every pod of the cluster.
    selectors: [{ role: 'pod', label }],
  };
}

/** Pods that will not run again are no targets (prometheus-operator drops them too). */
const dropFinished = {
  source_labels: [meta('phase')],
  regex: 'Failed|Succeeded',
  action: 'drop',
};

export function fleetScrapeConfigs(access: SdAccess): Record<string, unknown>[] {
  const runtime = selectorLabels('')[labelKeys.name]!;
  const router = routerSelectorLabels('')[labelKeys.name]!;
  return [
    {
      job_name: runtimeJob,
      metrics_path: runtimePaths.metrics,
      // The runtime pods and, while spec.router is on, the routers: the operator's
      // ServiceMonitor scrapes both through their Services (`<name>-pods`, `<name>`), on the
      // same port name and path; their metric names tell them apart.
      kubernetes_sd_configs: [sd(access, `${labelKeys.name} in (${runtime},${router})`)],
      relabel_configs: [
        { source_labels: [meta('container_port_name')], regex: runtimePortName, action: 'keep' },
        dropFinished,
        copy('__meta_kubernetes_namespace', 'namespace'),
        copy(meta('name'), 'pod'),
        copy(meta('container_name'), 'container'),
        copy(meta('container_port_name'), 'endpoint'),
        copy(meta(`label_${promLabel(labelKeys.instance)}`), instanceLabel),
        // What the operator's own ServiceMonitor adds (builders/monitoring.ts): the label its
        // PrometheusRule and its Prometheus signal source select one ZImageDeployment by.
        copy(instanceMetaLabel, seriesLabels.deployment),
      ],
    },
    {
      job_name: dcgmJob,
      // As the GPU Operator's ServiceMonitor: the exporter's own pod/namespace/container labels
      // name the pod holding each GPU; without honor_labels they would become exported_pod.
      honor_labels: true,
      kubernetes_sd_configs: [
        sd(
          access,
          Object.entries(dcgmLabels)
            .map(([k, v]) => `${k}=${v}`)
            .join(','),
          [dcgmNamespace],
        ),
      ],
      relabel_configs: [
        { source_labels: [meta('container_port_name')], regex: dcgmPortName, action: 'keep' },
        dropFinished,
        copy(meta('node_name'), 'node'),
      ],
    },
  ];
}

/**
 * A ServiceAccount `prometheus` in `monitoring` that may get, list and watch pods, and a bound
 * token for it (24 h) with the API server's CA, written into `dir`.
 */
export async function prometheusAccess(kubeConfig: KubeConfig, dir: string): Promise<SdAccess> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const rbac = kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  const name = 'zimage-fleet-prometheus';
  await core
    .createNamespace({ body: { metadata: { name: monitoringNamespace } } })
    .catch(ignoreConflict);
  await core
    .createNamespacedServiceAccount({
      namespace: monitoringNamespace,
      body: { metadata: { name: 'prometheus' } },
    })
    .catch(ignoreConflict);
  await rbac
    .createClusterRole({
      body: {
        metadata: { name },
        rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
      },
    })
    .catch(ignoreConflict);
  await rbac
    .createClusterRoleBinding({
      body: {
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
        subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: monitoringNamespace }],
      },
    })
    .catch(ignoreConflict);
  const { status } = await core.createNamespacedServiceAccountToken({
    name: 'prometheus',
    namespace: monitoringNamespace,
    body: { spec: { audiences: [], expirationSeconds: 86_400 } },
  });
  const cluster = kubeConfig.getCurrentCluster()!;
  fs.mkdirSync(dir, { recursive: true });
  const tokenFile = path.join(dir, 'token');
  const caFile = path.join(dir, 'ca.crt');
  const token = status?.token;
  if (!token) throw new Error('TokenRequest for monitoring/prometheus returned no token');
  fs.writeFileSync(tokenFile, token, { mode: 0o600 });
  fs.writeFileSync(caFile, Buffer.from(cluster.caData ?? '', 'base64'));
  return { apiServer: cluster.server, caFile, tokenFile };
}

function ignoreConflict(err: unknown): void {
  if ((err as { code?: number }).code !== 409) throw err;
}

/**
 * Start Prometheus (built with Kubernetes SD) scraping the fleet every second. `persist`: it
 * outlives this process and is recorded with the cluster's processes, so `cluster:down`
 * stops it (`cluster:up --fleet` and the demo).
 */
export async function startFleetPrometheus(
  cluster: { kubeConfig: KubeConfig; dir: string },
  options: { ruleFiles?: string[]; interval?: string; persist?: boolean } = {},
): Promise<PrometheusInstance> {
  const dir = path.join(cluster.dir, 'prometheus');
  const access = await prometheusAccess(cluster.kubeConfig, path.join(dir, 'sd'));
  const prom = await startPrometheus({
    dir,
    binary: binaryPath('prometheus'),
    scrapeConfigs: fleetScrapeConfigs(access),
    ...(options.ruleFiles ? { ruleFiles: options.ruleFiles } : {}),
    ...(options.interval ? { interval: options.interval } : {}),
    ...(options.persist ? { persist: true } : {}),
  });
  if (options.persist) recordPid(cluster.dir, 'prometheus', prom.pid);
  return prom;
}

/**
 * PromQL by labels, never by pod-name prefixes: a ZImageDeployment's runtime pods are the
 * runtime job's targets with its instance label; dcgm series join them on (namespace, pod).
 */
export const fleetQueries = {
  /** The runtime pods of one ZImageDeployment, each 1 (a join key). */
  pods: (namespace: string, instance: string) =>
    `group by (namespace, pod, ${instanceLabel}) (up{job="${runtimeJob}", namespace="${namespace}", ${instanceLabel}="${instance}"})`,
  /** Average GPU utilization (%) over its pods' GPUs. */
  gpuUtilization: (namespace: string, instance: string) =>
    `avg by (${instanceLabel}) (DCGM_FI_DEV_GPU_UTIL * on (namespace, pod) group_left (${instanceLabel}) ${fleetQueries.pods(namespace, instance)})`,
  /** Largest VRAM in use (MiB) over its pods' GPUs. */
  vramUsedMiB: (namespace: string, instance: string) =>
    `max by (${instanceLabel}) (DCGM_FI_DEV_FB_USED * on (namespace, pod) group_left (${instanceLabel}) ${fleetQueries.pods(namespace, instance)})`,
};
