import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import fs from 'node:fs';
import path from 'node:path';
import { kubeconfigYaml, makeClusterCerts } from './certs.ts';
import {
  componentOrder,
  componentSpec,
  type ComponentContext,
  type ComponentName,
  type Ports,
} from './components.ts';
import { runnerPodCidr } from './fleet/cidr.ts';
import { fleetLabelSelector, installFleet, type FleetOptions } from './fleet/fleet.ts';
import { buildNodes, defaultNodePools, gpuResource, type NodePool } from './nodes.ts';
import { freePorts } from './ports.ts';
import { clusterDir } from './paths.ts';
import { spawnManaged, waitFor, type ManagedProcess } from './process.ts';
import { cleanupStale, writeState } from './state.ts';

export interface StartClusterOptions {
  /** Folder name under the cache's clusters/ (one cluster per name at a time). Default: random. */
  name?: string;
  /** Fake node pools; default: 4x8 H100, 2x1 RTX 4090 (16 GiB), 1 CPU node. */
  nodePools?: readonly NodePool[];
  /** Loopback range for pod IPs. Default 127.1.0.0/16. */
  podCidr?: string;
  /** Leave the processes running when this Node process exits (`cluster:up`). */
  persist?: boolean;
  /**
   * A fleet cluster (docs/local-cluster.md): our pods run as real processes (the pod runner),
   * with a dcgm-exporter on every GPU node. Default: off, kwok fakes every pod.
   */
  fleet?: boolean | FleetOptions;
  log?: (line: string) => void;
}

export interface Cluster {
  name: string;
  dir: string;
  /** Admin kubeconfig (system:masters). */
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  server: string;
  ports: Ports;
  nodeNames: string[];
  /** The pod runner's /healthz and /pods (what it runs), in a fleet cluster. */
  podRunnerUrl?: string;
  /** PID of each running component. */
  pids(): Record<ComponentName, number>;
  /** Stop and start one component on the same ports and data (failure tests). */
  restart(component: ComponentName, downtimeMs?: number): Promise<void>;
  /** Stop one component and leave it stopped until restart(). */
  kill(component: ComponentName): Promise<void>;
  stop(): Promise<void>;
}

const startTimeoutMs: Record<ComponentName, number> = {
  etcd: 30_000,
  'kube-apiserver': 60_000,
  'kube-controller-manager': 30_000,
  'kube-scheduler': 30_000,
  kwok: 30_000,
  'pod-runner': 30_000,
};

/**
 * Start a real control plane on loopback: etcd, kube-apiserver (RBAC, ServiceAccount and
 * PodSecurity admission), kube-controller-manager, kube-scheduler, and kwok playing the
 * kubelets of fake GPU nodes. Resolves once every node is Ready and the default namespace's
 * service account exists (pods can be created). Each failing component is named with its log tail.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<Cluster> {
  const log = options.log ?? (() => {});
  const name = options.name ?? `c${process.pid}-${Date.now().toString(36)}`;
  const dir = clusterDir(name);
  await cleanupStale(dir, log);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });

  const certs = makeClusterCerts(path.join(dir, 'pki'));
  const [etcdClient, etcdPeer, apiserver, controllerManager, scheduler, kwok, podRunner] =
    await freePorts(7);
  const ports: Ports = {
    etcdClient: etcdClient!,
    etcdPeer: etcdPeer!,
    apiserver: apiserver!,
    controllerManager: controllerManager!,
    scheduler: scheduler!,
    kwok: kwok!,
    podRunner: podRunner!,
  };
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const kubeconfigs = {
    admin: path.join(dir, 'kubeconfig'),
    controllerManager: path.join(dir, 'pki', 'controller-manager.kubeconfig'),
    scheduler: path.join(dir, 'pki', 'scheduler.kubeconfig'),
    kwok: path.join(dir, 'pki', 'kwok.kubeconfig'),
  };
  fs.writeFileSync(kubeconfigs.admin, kubeconfigYaml(server, certs, 'admin'), { mode: 0o600 });
  fs.writeFileSync(
    kubeconfigs.controllerManager,
    kubeconfigYaml(server, certs, 'controller-manager'),
    { mode: 0o600 },
  );
  fs.writeFileSync(kubeconfigs.scheduler, kubeconfigYaml(server, certs, 'scheduler'), {
    mode: 0o600,
  });
  fs.writeFileSync(kubeconfigs.kwok, kubeconfigYaml(server, certs, 'kwok'), { mode: 0o600 });
  // The controller-manager signs CSRs with the client CA; it reads it from the cluster folder.
  fs.copyFileSync(path.join(dir, 'pki', 'client-ca.crt'), path.join(dir, 'client-ca.crt'));
  fs.copyFileSync(path.join(dir, 'pki', 'client-ca.key'), path.join(dir, 'client-ca.key'));

  const fleet = options.fleet === true ? {} : options.fleet || undefined;
  const ctx: ComponentContext = {
    dir,
    ports,
    certs,
    kubeconfigs,
    ...podRanges(options.podCidr ?? '127.1.0.0/16', fleet, ports.podRunner),
  };
  const order = fleet ? [...componentOrder, 'pod-runner' as const] : componentOrder;
  const procs = new Map<ComponentName, ManagedProcess>();
  const saveState = () =>
    writeState(dir, {
      name,
      kubeconfig: kubeconfigs.admin,
      server,
      ownerPid: process.pid,
      persist: options.persist ?? false,
      pids: Object.fromEntries([...procs].map(([n, p]) => [n, p.pid])),
    });

  async function startComponent(component: ComponentName): Promise<void> {
    const spec = componentSpec(component, ctx);
    const proc = spawnManaged(component, spec.command, spec.args, {
      logPath: path.join(dir, 'logs', `${component}.log`),
      persist: options.persist ?? false,
    });
    procs.set(component, proc);
    saveState();
    await waitFor(`${component} health`, spec.healthy, {
      timeoutMs: startTimeoutMs[component],
      proc,
    });
    log(`  ${component} is up (pid ${proc.pid})`);
  }

  async function stopComponent(component: ComponentName): Promise<void> {
    const proc = procs.get(component);
    if (!proc) return;
    await proc.stop(component === 'etcd' ? 10_000 : 5_000);
    procs.delete(component);
    saveState();
  }

  async function stop(): Promise<void> {
    for (const component of [...order].reverse()) await stopComponent(component);
    fs.rmSync(path.join(dir, 'state.json'), { force: true });
    // Keep certificates and logs for a post-mortem, drop the etcd data (it can be large).
    fs.rmSync(path.join(dir, 'etcd-data'), { recursive: true, force: true });
  }

  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigs.admin);
  const nodePools = options.nodePools ?? defaultNodePools;
  const nodes = buildNodes(nodePools);
  try {
    for (const component of order) await startComponent(component);
    await registerNodes(kubeConfig, nodes, log);
    await waitUntilUsable(kubeConfig, nodes.length);
    if (fleet) {
      const gpuNodes = nodes.filter((n) => Number(n.status?.allocatable?.[gpuResource] ?? 0) > 0);
      await installFleet(kubeConfig, gpuNodes.length, fleet);
      log(`  dcgm-exporter Ready on ${gpuNodes.length} GPU nodes`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name,
    dir,
    kubeconfigPath: kubeconfigs.admin,
    kubeConfig,
    server,
    ports,
    nodeNames: nodes.map((n) => n.metadata!.name!),
    ...(fleet ? { podRunnerUrl: `http://127.0.0.1:${ports.podRunner}` } : {}),
    pids: () =>
      Object.fromEntries([...procs].map(([n, p]) => [n, p.pid])) as Record<ComponentName, number>,
    async restart(component, downtimeMs = 0) {
      await stopComponent(component);
      if (downtimeMs > 0) await new Promise((r) => setTimeout(r, downtimeMs));
      await startComponent(component);
    },
    kill: stopComponent,
    stop,
  };
}

/** kwok's fakes take the cluster's pod range; the runner a range of its own (runnerPodCidr). */
function podRanges(
  podCidr: string,
  fleet: FleetOptions | undefined,
  runnerPort: number,
): Pick<ComponentContext, 'podCidr' | 'fleet'> {
  if (!fleet) return { podCidr };
  return {
    podCidr,
    fleet: {
      podCidr: runnerPodCidr(runnerPort),
      labelSelector: fleetLabelSelector,
      backoffBaseMs: fleet.backoffBaseMs ?? 10_000,
      pacing: fleet.pacing ?? true,
    },
  };
}

async function registerNodes(
  kubeConfig: KubeConfig,
  nodes: ReturnType<typeof buildNodes>,
  log: (line: string) => void,
): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  // Creates in small parallel batches: hundreds of nodes register in seconds without
  // tripping the API server's max-in-flight limit.
  for (let i = 0; i < nodes.length; i += 20) {
    await Promise.all(nodes.slice(i, i + 20).map((body) => core.createNode({ body })));
  }
  log(`  registered ${nodes.length} fake nodes`);
}

/** Every node Ready and the default service account present (pods need it to be admitted). */
async function waitUntilUsable(kubeConfig: KubeConfig, nodeCount: number): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  await waitFor(
    'fake nodes Ready',
    async () => {
      const list = await core.listNode();
      const ready = list.items.filter((n) =>
        n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      return ready.length === nodeCount;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  await waitFor(
    'default service account',
    async () => {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}
