/**
 * The pod runner: the kubelet of the local fleet for the pods kwok leaves alone (those its
 * disregard selectors match: the pod-runner annotation, or in a fleet cluster our own pods by
 * label). It watches scheduled pods on kwok's nodes, backs each such pod with a PodWorker
 * (real processes, kubelet's status), and plays the NVIDIA device plugin for every pod on the
 * node, kwok's fakes included, publishing per node which pod holds which GPU.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  ApiException,
  CoreV1Api,
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import { nvidiaGpuResource, podRunnerAnnotation } from '../../src/contract/labels.ts';
import { runtimePortName } from '../../src/contract/runtime.ts';
import { kwokNodeAnnotation } from '../nodes.ts';
import { runnerPidsFile } from '../state.ts';
import type { BackoffOptions } from './backoff.ts';
import { IpPool } from './cidr.ts';
import { podResourcesDir, podResourcesFile } from './dcgm-exporter.ts';
import type { DataLookup } from './env.ts';
import { cardForNode, GpuAllocator, nodeDevices, type NodeGpus } from './gpus.ts';
import { PodWorker } from './pod-worker.ts';
import { parseSelector } from './selector.ts';

export interface RunnerOptions {
  kubeConfig: KubeConfig;
  clusterDir: string;
  /** The runner's own pod IP range (kwok has another). */
  podCidr: string;
  apiServer: { host: string; port: number };
  hostIp?: string;
  /** kwok's --disregard-status-with-label-selector, if any (the annotation always counts). */
  labelSelector?: string;
  backoff?: BackoffOptions;
  /** Runtime pods hold each stage for the card model's time (programs.ts). Default true. */
  pacing?: boolean;
  log?: (line: string) => void;
}

function metricsUrl(pod: V1Pod, ip: string | undefined, container: string): string | undefined {
  const ports = pod.spec?.containers.find((c) => c.name === container)?.ports ?? [];
  const port = (ports.find((p) => p.name === runtimePortName) ?? ports[0])?.containerPort;
  return ip && port ? `http://${ip}:${port}/metrics` : undefined;
}

export class PodRunner {
  private readonly o: RunnerOptions;
  private readonly core: CoreV1Api;
  private readonly ips: IpPool;
  private readonly owned: (pod: V1Pod) => boolean;
  private readonly workers = new Map<string, PodWorker>();
  private readonly addresses = new Map<string, string>();
  private readonly nodes = new Map<string, V1Node>();
  private readonly gpus = new GpuAllocator();
  private readonly pids = new Set<number>();
  private readonly watches: { stop(): void }[] = [];
  private readonly log: (line: string) => void;

  constructor(options: RunnerOptions) {
    this.o = options;
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.ips = new IpPool(options.podCidr);
    this.log = options.log ?? (() => {});
    const byLabel = parseSelector(options.labelSelector ?? '');
    this.owned = (pod) =>
      pod.metadata?.annotations?.[podRunnerAnnotation] !== undefined ||
      byLabel(pod.metadata?.labels);
  }

  /** Resolves once nodes and pods are listed (pods already scheduled are picked up). */
  async start(): Promise<void> {
    await this.watch<V1Node>('/api/v1/nodes', () => this.core.listNode(), undefined, {
      upsert: (n) => this.nodeChanged(n),
      remove: (n) => this.nodes.delete(n.metadata!.name!),
      synced: () => {},
    });
    await this.watch<V1Pod>(
      '/api/v1/pods',
      () => this.core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName!=' }),
      'spec.nodeName!=',
      {
        upsert: (p) => this.podChanged(p),
        remove: (p) => this.podRemoved(p),
        synced: (list) => this.resync(list),
      },
    );
  }

  /** Stop watching and stop every pod's processes (they die with the runner anyway). */
  async stop(graceMs = 5_000): Promise<void> {
    for (const w of this.watches) w.stop();
    await Promise.all(
      [...this.workers.values()].map((w) =>
        Promise.race([w.gone(), new Promise((r) => setTimeout(r, graceMs))]),
      ),
    );
  }

  describe() {
    return [...this.workers.values()].map((w) => w.describe());
  }

  private async watch<T extends KubernetesObject>(
    apiPath: string,
    list: () => Promise<KubernetesListObject<T>>,
    fieldSelector: string | undefined,
    on: { upsert: (o: T) => void; remove: (o: T) => void; synced: (all: readonly T[]) => void },
  ): Promise<void> {
    let backoffMs = 1_000;
    let current: ListWatch<T> | undefined;
    let stopped = false;
    const begin = async (): Promise<void> => {
      // A fresh ListWatch lists afresh (a restarted one would resume its resourceVersion).
      const lw = new ListWatch<T>(
        apiPath,
        new Watch(this.o.kubeConfig),
        list,
        false,
        undefined,
        fieldSelector,
      );
      current = lw;
      lw.on('add', on.upsert);
      lw.on('update', on.upsert);
      lw.on('delete', on.remove);
      lw.on('error', (err: unknown) => {
        if (stopped || current !== lw) return;
        this.log(`watch ${apiPath} failed (${String(err)}); relisting in ${backoffMs} ms`);
        setTimeout(() => void begin(), backoffMs);
        backoffMs = Math.min(backoffMs * 2, 30_000);
      });
      await lw.start();
      if (current !== lw) return;
      backoffMs = 1_000;
      on.synced(lw.list());
    };
    this.watches.push({
      stop: () => {
        stopped = true;
        void current?.stop();
      },
    });
    await begin();
  }

  private nodeChanged(node: V1Node): void {
    this.nodes.set(node.metadata!.name!, node);
    this.publishGpus(node.metadata!.name!);
  }

  private managed(pod: V1Pod): boolean {
    const node = this.nodes.get(pod.spec?.nodeName ?? '');
    return node?.metadata?.annotations?.[kwokNodeAnnotation] !== undefined;
  }

  private podChanged(pod: V1Pod): void {
    if (!this.managed(pod)) return;
    const uid = pod.metadata!.uid!;
    const node = pod.spec!.nodeName!;
    const finished = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
    if (finished) {
      if (this.gpus.release(node, uid)) this.publishGpus(node);
    } else if (pod.spec?.containers.some((c) => c.resources?.limits?.[nvidiaGpuResource])) {
      this.assignGpus(pod);
    }
    if (!this.owned(pod)) return;
    let worker = this.workers.get(uid);
    if (!worker) {
      if (pod.metadata?.deletionTimestamp && !pod.status?.podIP) {
        // Deleted before it ever ran: nothing to stop, only the object to remove.
        void this.core
          .deleteNamespacedPod({
            name: pod.metadata.name!,
            namespace: pod.metadata.namespace!,
            gracePeriodSeconds: 0,
          })
          .catch(() => {});
        return;
      }
      worker = this.newWorker(pod);
      this.workers.set(uid, worker);
    }
    worker.update(pod);
  }

  private assignGpus(pod: V1Pod): void {
    const node = pod.spec!.nodeName!;
    const capacity = Number(this.nodes.get(node)?.status?.allocatable?.[nvidiaGpuResource] ?? 0);
    const ip = this.addresses.get(pod.metadata!.uid!);
    const given = this.gpus.assign(pod, capacity, (c) => metricsUrl(pod, ip, c));
    if (!given) this.log(`${pod.metadata!.name}: more GPUs requested than free on ${node}`);
    this.publishGpus(node);
  }

  private podRemoved(pod: V1Pod): void {
    const uid = pod.metadata!.uid!;
    if (this.gpus.release(pod.spec?.nodeName ?? '', uid)) this.publishGpus(pod.spec!.nodeName!);
    void this.workers.get(uid)?.gone();
  }

  /** After a (re)list: pods that vanished meanwhile are gone. */
  private resync(all: readonly V1Pod[]): void {
    const present = new Set(all.map((p) => p.metadata!.uid!));
    for (const [uid, worker] of this.workers) if (!present.has(uid)) void worker.gone();
  }

  private newWorker(pod: V1Pod): PodWorker {
    return new PodWorker(pod, {
      core: this.core,
      lookup: this.lookup,
      clusterDir: this.o.clusterDir,
      apiServer: this.o.apiServer,
      hostIp: this.o.hostIp ?? '127.0.0.1',
      ips: this.ips,
      allocatable: (node) => this.nodes.get(node)?.status?.allocatable ?? {},
      card: (node) => cardForNode(this.nodes.get(node)),
      pacing: this.o.pacing ?? true,
      ...(this.o.backoff ? { backoff: this.o.backoff } : {}),
      onPid: (pid, alive) => this.trackPid(pid, alive),
      onAddress: (p, ip) => {
        this.addresses.set(p.metadata!.uid!, ip);
        if (p.spec?.containers.some((c) => c.resources?.limits?.[nvidiaGpuResource]))
          this.assignGpus(p);
      },
      onFinished: (uid) => {
        this.workers.delete(uid);
        this.addresses.delete(uid);
      },
      log: this.log,
    });
  }

  private readonly lookup: DataLookup = async (kind, namespace, name) => {
    try {
      if (kind === 'ConfigMap') {
        const cm = await this.core.readNamespacedConfigMap({ name, namespace });
        return { ...cm.data };
      }
      const secret = await this.core.readNamespacedSecret({ name, namespace });
      return Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
      );
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return undefined;
      throw err;
    }
  };

  /** Where kubelet's pod-resources socket would be, on the node's own filesystem. */
  private publishGpus(node: string): void {
    const object = this.nodes.get(node);
    if (!object) return;
    const devices = nodeDevices(object);
    if (devices.length === 0) return;
    const body: NodeGpus = { node, devices, assignments: this.gpus.assignments(node) };
    const file = path.join(this.o.clusterDir, 'nodes', node, podResourcesDir, podResourcesFile);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(body, null, 2));
    fs.renameSync(`${file}.tmp`, file);
  }

  private trackPid(pid: number, alive: boolean): void {
    if (alive) this.pids.add(pid);
    else this.pids.delete(pid);
    const file = path.join(this.o.clusterDir, runnerPidsFile);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify([...this.pids]));
    fs.renameSync(`${file}.tmp`, file);
  }
}
