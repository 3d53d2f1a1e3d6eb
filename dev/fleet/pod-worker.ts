/**
 * One runner-backed pod, kubelet-style: give it a pod IP, set up its volumes, run its
 * containers, keep pods/status in step with them, and on deletion stop them within the grace
 * period and then delete the object with grace 0 (kubelet's final step; kwok's pod-gone
 * stage skips these pods). Status writes are coalesced: one in flight, the latest wins.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiException,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Api,
  type V1Pod,
} from '@kubernetes/client-node';
import type { Card } from '../../src/contract/card.ts';
import type { BackoffOptions } from './backoff.ts';
import type { IpPool } from './cidr.ts';
import { ContainerRunner } from './container.ts';
import type { DataLookup } from './env.ts';
import { PodVolumes } from './mounts.ts';
import { kubeTime, podStatus, type ContainerView, type PodView } from './pod-status.ts';

export interface WorkerDeps {
  core: CoreV1Api;
  lookup: DataLookup;
  clusterDir: string;
  apiServer: { host: string; port: number };
  /** Every fake node's InternalIP (kwok's --node-ip). */
  hostIp: string;
  ips: IpPool;
  allocatable: (node: string) => Record<string, string>;
  /** The card model of a node's GPUs (gpus.ts cardForNode). */
  card: (node: string) => Card | undefined;
  pacing: boolean;
  backoff?: BackoffOptions;
  onPid: (pid: number, alive: boolean) => void;
  /** The pod has its IP (the GPU map records where its metrics are). */
  onAddress: (pod: V1Pod, ip: string) => void;
  /** The pod's processes are gone and it is deleted (or was force-deleted). */
  onFinished: (uid: string) => void;
  log: (line: string) => void;
}

type Phase = 'starting' | 'running' | 'terminating' | 'gone';
const retryMs = 2_000;

/**
 * Restart counts to continue from: a container a previous runner had started (it died with
 * that runner, or had crashed) starts again now, which is one restart more than it had.
 */
function restartsSoFar(pod: V1Pod): Map<string, number> {
  return new Map(
    (pod.status?.containerStatuses ?? []).map((s) => {
      const ran = s.state?.running ?? s.state?.terminated ?? s.lastState?.terminated;
      return [s.name, s.restartCount + (ran ? 1 : 0)];
    }),
  );
}

export const podKey = (pod: V1Pod) =>
  `${pod.metadata!.namespace}_${pod.metadata!.name}_${pod.metadata!.uid}`;

export class PodWorker {
  private pod: V1Pod;
  private readonly deps: WorkerDeps;
  private readonly podDir: string;
  private phase: Phase = 'starting';
  private podIp: string | undefined;
  private readonly startTime: string;
  private volumes: PodVolumes | undefined;
  private containers: ContainerRunner[] = [];
  private waiting: { reason: string; message: string } | undefined;
  private lastWritten = '';
  private writing: Promise<void> | undefined;
  private dirty = false;
  private terminated: Promise<void> | undefined;
  private readonly restarts: Map<string, number>;

  constructor(pod: V1Pod, deps: WorkerDeps) {
    this.pod = pod;
    this.deps = deps;
    this.podDir = path.join(deps.clusterDir, 'pods', podKey(pod));
    // Read before this runner writes any status: a previous runner's containers count.
    this.restarts = restartsSoFar(pod);
    const started = pod.status?.startTime;
    this.startTime = started ? kubeTime(new Date(started)) : kubeTime(new Date());
    void this.run().catch((err: unknown) => deps.log(`${podKey(pod)}: ${String(err)}`));
  }

  update(pod: V1Pod): void {
    this.pod = pod;
    if (pod.metadata?.deletionTimestamp) void this.terminate();
  }

  private async run(): Promise<void> {
    const { deps } = this;
    const existing = this.pod.status?.podIP;
    if (existing && deps.ips.contains(existing)) {
      deps.ips.reserve(existing);
      this.podIp = existing;
    } else this.podIp = deps.ips.allocate();
    deps.onAddress(this.pod, this.podIp);
    this.sync();
    if (this.pod.spec?.initContainers?.length) {
      return this.fail('spec.initContainers: not supported by the local pod runner');
    }
    // A deletion while volumes were being set up leaves nothing to start.
    if (!(await this.setUpVolumes()) || this.phase !== 'starting') return;
    this.startContainers();
  }

  private startContainers(): void {
    const { deps } = this;
    this.containers = (this.pod.spec?.containers ?? []).map(
      (_c, index) =>
        new ContainerRunner({
          pod: () => this.pod,
          index,
          podIp: this.podIp!,
          podDir: this.podDir,
          volumes: this.volumes!,
          lookup: deps.lookup,
          allocatable: deps.allocatable(this.pod.spec?.nodeName ?? ''),
          card: deps.card(this.pod.spec?.nodeName ?? ''),
          pacing: deps.pacing,
          apiServer: deps.apiServer,
          ...(deps.backoff ? { backoff: deps.backoff } : {}),
          onChange: () => this.sync(),
          onPid: deps.onPid,
          log: deps.log,
        }),
    );
    this.phase = 'running';
    this.waiting = undefined;
    for (const c of this.containers) c.start(this.restarts.get(c.view.name) ?? 0);
  }

  /** Volumes are retried until they work (a claim may bind later), as kubelet retries mounts. */
  private async setUpVolumes(): Promise<boolean> {
    const { deps } = this;
    while (this.phase === 'starting') {
      this.volumes = new PodVolumes({
        core: deps.core,
        lookup: deps.lookup,
        pod: this.pod,
        podDir: this.podDir,
        nodeDir: path.join(deps.clusterDir, 'nodes', this.pod.spec?.nodeName ?? 'unknown'),
        log: deps.log,
      });
      try {
        await this.volumes.setup();
        return true;
      } catch (err) {
        this.volumes.stop();
        const message = err instanceof Error ? err.message : String(err);
        this.waiting = { reason: 'ContainerCreating', message: `MountVolume: ${message}` };
        this.sync();
        await sleep(retryMs);
      }
    }
    return false;
  }

  private fail(message: string): void {
    this.waiting = { reason: 'CreateContainerConfigError', message };
    this.sync();
  }

  private view(): PodView {
    const containers: ContainerView[] =
      this.containers.length > 0
        ? this.containers.map((c) => c.view)
        : (this.pod.spec?.containers ?? []).map((c) => ({
            name: c.name,
            image: c.image ?? '',
            state: { kind: 'waiting', ...(this.waiting ?? { reason: 'ContainerCreating' }) },
            restartCount: this.restarts.get(c.name) ?? 0,
            started: false,
            ready: false,
          }));
    const stopped =
      this.phase === 'running' && this.containers.every((c) => c.view.state.kind === 'terminated');
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    const failed = containers.some((c) => c.state.kind === 'terminated' && c.state.exitCode !== 0);
    return {
      hostIP: this.deps.hostIp,
      startTime: this.startTime,
      containers,
      ...(this.podIp ? { podIP: this.podIp } : {}),
      ...(stopped && policy !== 'Always' ? { terminal: failed ? 'Failed' : 'Succeeded' } : {}),
    };
  }

  /** Write the status if it changed; at most one write in flight. */
  private sync(): void {
    if (this.phase === 'gone') return;
    if (this.writing) {
      this.dirty = true;
      return;
    }
    this.writing = this.write().finally(() => {
      this.writing = undefined;
      if (this.dirty) {
        this.dirty = false;
        this.sync();
      }
    });
  }

  private async write(): Promise<void> {
    const status = podStatus(this.pod, this.view(), new Date());
    const json = JSON.stringify(status);
    if (json === this.lastWritten) return;
    const { name, namespace } = this.pod.metadata!;
    try {
      await this.deps.core.patchNamespacedPodStatus(
        { name: name!, namespace: namespace!, body: { status } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
      this.lastWritten = json;
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return;
      this.deps.log(`${podKey(this.pod)}: status write failed (${String(err)}); retrying`);
      await sleep(1_000);
      this.dirty = true;
    }
  }

  /** Graceful stop on deletion: preStop, SIGTERM, SIGKILL at the grace deadline, then delete. */
  terminate(): Promise<void> {
    this.terminated ??= this.stopAndDelete();
    return this.terminated;
  }

  private async stopAndDelete(): Promise<void> {
    const grace =
      this.pod.metadata?.deletionGracePeriodSeconds ??
      this.pod.spec?.terminationGracePeriodSeconds ??
      30;
    this.phase = 'terminating';
    const deadline = Date.now() + grace * 1000;
    await Promise.all(this.containers.map((c) => c.terminate(deadline)));
    this.volumes?.stop();
    this.sync();
    await this.writing;
    const { name, namespace, uid } = this.pod.metadata!;
    try {
      await this.deps.core.deleteNamespacedPod({
        name: name!,
        namespace: namespace!,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid: uid! } },
      });
    } catch (err) {
      // Gone already (404) or replaced by a new pod of the same name (409): nothing to do.
      if (!(err instanceof ApiException) || ![404, 409].includes(err.code)) {
        this.deps.log(`${podKey(this.pod)}: delete failed: ${String(err)}`);
      }
    }
    this.finish();
  }

  /** The object was deleted under us (force deletion): stop at once, write nothing. */
  async gone(): Promise<void> {
    if (this.phase === 'gone') return;
    this.phase = 'gone';
    await Promise.all(this.containers.map((c) => c.kill()));
    this.volumes?.stop();
    this.finish();
  }

  private finish(): void {
    this.phase = 'gone';
    if (this.podIp) this.deps.ips.release(this.podIp);
    this.deps.onFinished(this.pod.metadata!.uid!);
  }

  describe() {
    return {
      pod: podKey(this.pod),
      phase: this.phase,
      podIP: this.podIp,
      containers: this.containers.map((c) => ({ ...c.view })),
    };
  }
}
