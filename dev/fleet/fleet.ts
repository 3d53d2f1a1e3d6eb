/**
 * The local fleet: what a fleet cluster (startCluster({ fleet })) adds to the control plane.
 * kwok leaves our pods alone (pods labelled app.kubernetes.io/name=zimage-runtime or
 * zimage-router, and any pod annotated zimage.dev/pod-runner), the pod runner backs them with real processes, and a
 * dcgm-exporter DaemonSet covers every GPU node.
 *
 * Why a label selector at kwok rather than an annotation the operator adds: the operator's
 * pods then look exactly as in production (no dev-only flag in the product), and the choice
 * is the cluster's, as it is a cluster's kubelets that decide what really runs.
 */
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import {
  labelKeys,
  routerSelectorLabels,
  selectorLabels,
} from '../../src/operator/api/v1alpha1/names.ts';
import { waitFor } from '../process.ts';
import { buildDcgmDaemonSet, dcgmLabels, dcgmNamespace } from './daemonset.ts';

/** The runtime's and the router's pods, by the name label every ZImageDeployment's pods carry. */
export const fleetLabelSelector = `${labelKeys.name} in (${[
  selectorLabels(''),
  routerSelectorLabels(''),
]
  .map((labels) => labels[labelKeys.name])
  .join(',')})`;

export interface FleetOptions {
  /** dcgm-exporter collection interval (its -c). Default 1000 ms; dcgm-exporter's own is 30000. */
  dcgmIntervalMs?: number;
  /** First crash back-off step after the immediate restart. Default 10 000 ms, as kubelet. */
  backoffBaseMs?: number;
  /**
   * Runtime pods on GPU nodes hold each stage for the card model's time of the real model on
   * the node's card (ZIMAGE_PACING, dev/fleet/programs.ts). Default true: the fleet is there to
   * model GPU capacity, and unpaced the tiny model's capacity is that of two shared CPU cores,
   * so a second pod adds almost nothing and the autoscaler would chase the CPU. False: pods
   * run as fast as the tiny model does (for measuring the runtime itself).
   */
  pacing?: boolean;
}

const isReady = (p: V1Pod) =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Create the dcgm-exporter DaemonSet and wait until one Ready pod runs per GPU node. */
export async function installFleet(
  kubeConfig: KubeConfig,
  gpuNodes: number,
  options: FleetOptions = {},
) {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  await core.createNamespace({ body: { metadata: { name: dcgmNamespace } } });
  await waitFor(
    `${dcgmNamespace} default service account`,
    async () => {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: dcgmNamespace });
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  await apps.createNamespacedDaemonSet({
    namespace: dcgmNamespace,
    body: buildDcgmDaemonSet({ intervalMs: options.dcgmIntervalMs ?? 1_000 }),
  });
  const selector = Object.entries(dcgmLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  await waitFor(
    `dcgm-exporter Ready on ${gpuNodes} GPU nodes`,
    async () => {
      const pods = await core.listNamespacedPod({
        namespace: dcgmNamespace,
        labelSelector: selector,
      });
      return pods.items.filter(isReady).length === gpuNodes;
    },
    { timeoutMs: 90_000, intervalMs: 500 },
  );
}
