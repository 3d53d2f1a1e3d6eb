/**
 * Discovery: the router follows its ZImageDeployment's runtime pods through the API (list +
 * watch, client-node's informer), as the operator's direct scraping does. EndpointSlices are
 * not used: the local fleet's pods have loopback IPs, which EndpointSlices refuse, and a watch
 * says "terminating" (deletionTimestamp) and "not Ready" the moment the API server knows it,
 * so such a pod gets no new work at once.
 */
import {
  CoreV1Api,
  makeInformer,
  type Informer,
  type ObjectCache,
  type KubeConfig,
  type V1Pod,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { runtimePort, runtimePortName } from '../contract/runtime.ts';
import type { PodTarget } from './dispatch/types.ts';

/** The pod as the router sees it; undefined while it has no IP (nothing to send to). */
export function targetOf(pod: V1Pod): PodTarget | undefined {
  const name = pod.metadata?.name;
  const ip = pod.status?.podIP;
  if (!name || !ip) return undefined;
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return { name, url: `http://${host}:${portOf(pod)}`, accepting: accepting(pod) };
}

/** The runtime container's port named runtimePortName (8080 when the template names none). */
function portOf(pod: V1Pod): number {
  const ports = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
  return ports.find((p) => p.name === runtimePortName)?.containerPort ?? runtimePort;
}

/** Ready, Running and not terminating. */
function accepting(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp || pod.status?.phase !== 'Running') return false;
  return (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export interface PodWatchOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  /** Label selector of the runtime pods, e.g. app.kubernetes.io/name=zimage-runtime,... */
  selector: string;
  log: Logger;
  onChange(targets: PodTarget[]): void;
}

/** Watches the pods; `synced` once the first list has arrived. Re-lists after a watch error. */
export class PodWatch {
  private readonly informer: Informer<V1Pod> & ObjectCache<V1Pod>;
  private readonly o: PodWatchOptions;
  private synced = false;
  private stopped = false;

  constructor(o: PodWatchOptions) {
    this.o = o;
    const api = o.kubeConfig.makeApiClient(CoreV1Api);
    this.informer = makeInformer(
      o.kubeConfig,
      `/api/v1/namespaces/${o.namespace}/pods`,
      () => api.listNamespacedPod({ namespace: o.namespace, labelSelector: o.selector }),
      o.selector,
    );
    const changed = () => this.publish();
    this.informer.on('add', changed);
    this.informer.on('update', changed);
    this.informer.on('delete', changed);
    this.informer.on('connect', () => {
      this.synced = true;
      this.publish();
    });
    this.informer.on('error', (err: unknown) => {
      if (this.stopped) return;
      o.log.warn({ err: String(err) }, 'pod watch failed; restarting in 2 s');
      setTimeout(() => void this.start().catch(() => undefined), 2_000).unref();
    });
  }

  async start(): Promise<void> {
    await this.informer.start();
  }

  isSynced(): boolean {
    return this.synced;
  }

  stop(): void {
    this.stopped = true;
    void this.informer.stop();
  }

  private publish(): void {
    const targets = this.informer
      .list()
      .map(targetOf)
      .filter((t): t is PodTarget => t !== undefined);
    this.o.onChange(targets);
  }
}
