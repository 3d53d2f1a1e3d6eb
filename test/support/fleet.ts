/**
 * A fleet cluster for integration tests: the real control plane, the pod runner, dcgm-exporter
 * on every GPU node, the operator (as its own ServiceAccount) and one namespace with a model
 * claim, so a ZImageDeployment's pods run the real runtime on the tiny model. Small on
 * purpose: one 8-GPU H100 node, one 16 GiB RTX 4090 node, one CPU node.
 */
import { CoreV1Api, DiscoveryV1Api, type V1Pod } from '@kubernetes/client-node';
import { startCluster, type Cluster } from '../../dev/cluster.ts';
import type { FleetOptions } from '../../dev/fleet/fleet.ts';
import { kubectl } from '../../dev/operator.ts';
import { pidAlive } from '../../dev/process.ts';
import { createModelVolume } from '../../dev/volumes.ts';
import { eventually, isReady } from './k8s.ts';
import { startTestOperator, type OperatorProcess } from './operator.ts';
import { zidClient } from './zid.ts';

export const fleetPools = [
  {
    name: 'gpu-h100',
    count: 1,
    gpusPerNode: 8,
    gpuProduct: 'NVIDIA-H100-80GB-HBM3',
    gpuMemoryMiB: 81559,
  },
  {
    name: 'gpu-rtx4090',
    count: 1,
    gpusPerNode: 1,
    gpuProduct: 'NVIDIA-GeForce-RTX-4090',
    gpuMemoryMiB: 16384,
  },
  { name: 'cpu', count: 1, gpusPerNode: 0 },
];

export interface TestFleet {
  cluster: Cluster;
  operator: OperatorProcess;
  core: CoreV1Api;
  discovery: DiscoveryV1Api;
  namespace: string;
  zid: ReturnType<typeof zidClient>;
  kubectl: (...args: string[]) => string;
  stop: () => Promise<void>;
}

/** The spec every fleet test runs: the CPU EP (no GPU here), on the H100 pool, tiny warm-up. */
export { fleetSpec } from '../../dev/specs.ts';

export async function startTestFleet(
  name: string,
  fleet: Pick<FleetOptions, 'pacing'> = {},
): Promise<TestFleet> {
  // A 1 s crash back-off base instead of kubelet's 10 s keeps restart tests short.
  const cluster = await startCluster({
    name,
    nodePools: fleetPools,
    fleet: { backoffBaseMs: 1_000, ...fleet },
  });
  try {
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const namespace = 'fleet';
    await core.createNamespace({
      body: {
        metadata: {
          name: namespace,
          labels: { 'pod-security.kubernetes.io/enforce': 'restricted' },
        },
      },
    });
    await createModelVolume(cluster.kubeConfig, { namespace, name: 'zimage-models' });
    const operator = await startTestOperator(cluster.kubeconfigPath);
    return {
      cluster,
      operator,
      core,
      discovery: cluster.kubeConfig.makeApiClient(DiscoveryV1Api),
      namespace,
      zid: zidClient(cluster.kubeConfig),
      kubectl: (...args) => kubectl(cluster.kubeconfigPath, '-n', namespace, ...args),
      stop: async () => {
        await operator.stop();
        await cluster.stop();
      },
    };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/** The pid of a pod's first container, from its containerID (zimage-fleet://<pid>). */
export function pidOf(pod: V1Pod): number | undefined {
  const id = pod.status?.containerStatuses?.[0]?.containerID;
  const match = /^zimage-fleet:\/\/(\d+)$/.exec(id ?? '');
  return match ? Number(match[1]) : undefined;
}

export const alive = (pid: number) => pidAlive(pid);

export async function runtimePods(fleet: TestFleet, instance: string): Promise<V1Pod[]> {
  const pods = await fleet.core.listNamespacedPod({
    namespace: fleet.namespace,
    labelSelector: `app.kubernetes.io/instance=${instance}`,
  });
  return pods.items;
}

/** Wait until exactly `count` pods of the instance exist and all are Ready. */
export async function readyPods(
  fleet: TestFleet,
  instance: string,
  count: number,
  timeoutMs = 90_000,
): Promise<V1Pod[]> {
  return eventually(
    `${count} Ready pods of ${instance}`,
    async () => {
      const pods = await runtimePods(fleet, instance);
      return pods.length === count && pods.every(isReady) ? pods : undefined;
    },
    timeoutMs,
  );
}

/** `count` Ready pods (none terminating) with these labels in the fleet's namespace. */
export function readyLabelled(fleet: TestFleet, labels: Record<string, string>, count: number) {
  const labelSelector = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return eventually(
    `${count} Ready pods ${labelSelector}`,
    async () => {
      const pods = (
        await fleet.core.listNamespacedPod({ namespace: fleet.namespace, labelSelector })
      ).items.filter((p) => !p.metadata?.deletionTimestamp);
      return pods.length === count && pods.every(isReady) ? pods : undefined;
    },
    180_000,
  );
}
