/**
 * Informers for what the reconciler reads: ZImageDeployments, their children and pods
 * (selected by the managed-by label), and nodes (to know which GPU resources exist). Every
 * event is mapped to the owning ZImageDeployment's key and handed to `enqueue`. Each kind is
 * cached trimmed to what the operator reads (k8s/cached.ts).
 */
import type {
  KubeConfig,
  KubernetesObject,
  V1Node,
  V1PersistentVolumeClaim,
  V1Pod,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { sleep, systemClock, type Clock } from '../../contract/clock.ts';
import { crdNames } from '../api/v1alpha1/crd.ts';
import type { ZImageDeploymentObject } from '../api/v1alpha1/types.ts';
import { labelKeys, managedSelector, routerSelectorLabels } from '../api/v1alpha1/names.ts';
import type { Metrics } from '../metrics.ts';
import {
  trimClaim,
  trimCustomResource,
  trimNode,
  trimNetworkPolicy,
  trimPod,
  withoutManagedFields,
  type CachedClaim,
  type CachedNode,
  type CachedPod,
} from './cached.ts';
import type { Kube } from './client.ts';
import { ResilientInformer } from './informer.ts';
import { keyOf } from '../../contract/object-key.ts';

/** Namespaced kinds the operator owns and watches. */
export const childKinds = [
  { resource: 'deployments', apiVersion: 'apps/v1', kind: 'Deployment' },
  { resource: 'configmaps', apiVersion: 'v1', kind: 'ConfigMap' },
  { resource: 'services', apiVersion: 'v1', kind: 'Service' },
  { resource: 'poddisruptionbudgets', apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
  { resource: 'serviceaccounts', apiVersion: 'v1', kind: 'ServiceAccount' },
  { resource: 'roles', apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role' },
  { resource: 'rolebindings', apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' },
  { resource: 'networkpolicies', apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
] as const;
export type ChildKind = (typeof childKinds)[number]['kind'];

/** The ZImageDeployment a labelled child or pod belongs to. */
function ownerKey(obj: KubernetesObject): string | undefined {
  const owner = obj.metadata?.labels?.[labelKeys.owner];
  const namespace = obj.metadata?.namespace;
  return owner && namespace ? keyOf({ namespace, name: owner }) : undefined;
}

function apiPath(apiVersion: string, resource: string, namespace: string | undefined): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return namespace ? `${base}/namespaces/${namespace}/${resource}` : `${base}/${resource}`;
}

export interface CacheOptions {
  kube: Kube;
  kubeConfig: KubeConfig;
  /** Empty: all namespaces. */
  namespaces: readonly string[];
  log: Logger;
  metrics: Metrics;
  enqueue: (key: string) => void;
  watchdogMs: number;
  relistMs: number;
  /** Default: the system clock. */
  clock?: Clock;
}

/** Where one kind is watched, how it is trimmed, and which object an event enqueues. */
interface Watched<T extends KubernetesObject, Raw extends KubernetesObject> {
  apiVersion: string;
  kind: string;
  resource: string;
  namespace: string | undefined;
  labelSelector: string | undefined;
  transform: (obj: Raw) => T;
  keyOf: (obj: T) => string | undefined;
}

export class Caches {
  private readonly crs: ResilientInformer<ZImageDeploymentObject>[] = [];
  private readonly children = new Map<ChildKind, ResilientInformer<KubernetesObject>[]>();
  private readonly nodes: ResilientInformer<CachedNode, V1Node>;
  private readonly claims: ResilientInformer<CachedClaim, V1PersistentVolumeClaim>[] = [];
  private readonly pods: ResilientInformer<CachedPod, V1Pod>[] = [];
  private readonly all: { start(): Promise<void>; hasSynced(): boolean; stop(): void }[] = [];
  private readonly o: CacheOptions;

  constructor(options: CacheOptions) {
    this.o = options;
    const scopes = options.namespaces.length > 0 ? options.namespaces : [undefined];
    const crVersion = `${crdNames.group}/${crdNames.version}`;
    for (const namespace of scopes) {
      const mine = { namespace, labelSelector: managedSelector };
      const all = { namespace, labelSelector: undefined };
      this.crs.push(
        this.informer({
          apiVersion: crVersion,
          kind: crdNames.kind,
          resource: crdNames.plural,
          ...all,
          transform: (obj: ZImageDeploymentObject) => trimCustomResource(obj),
          keyOf: (obj) => this.keyOf(obj),
        }),
      );
      // Model claims: a claim appearing (or changing access mode) unblocks or degrades the
      // objects of its namespace. Cached, so a reconcile reads no claim from the API server.
      this.claims.push(
        this.informer({
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          resource: 'persistentvolumeclaims',
          ...all,
          transform: trimClaim,
          keyOf: (obj) => `ns:${obj.metadata?.namespace}`,
        }),
      );
      for (const child of childKinds) {
        const list = this.children.get(child.kind) ?? [];
        const transform = child.kind === 'NetworkPolicy' ? trimNetworkPolicy : withoutManagedFields;
        list.push(this.informer({ ...child, ...mine, transform, keyOf: ownerKey }));
        this.children.set(child.kind, list);
      }
      // Our pods (they carry the pod template's managed-by label): what the Deployment's
      // status does not say, e.g. a pod the scheduler cannot place ("0/7 nodes are
      // available: 7 Insufficient nvidia.com/gpu"), reaches the status through them.
      this.pods.push(
        this.informer({
          apiVersion: 'v1',
          kind: 'Pod',
          resource: 'pods',
          ...mine,
          transform: trimPod,
          keyOf: ownerKey,
        }),
      );
    }
    // A node joining or leaving can make an unknown GPU resource known: recheck everything.
    this.nodes = this.informer({
      apiVersion: 'v1',
      kind: 'Node',
      resource: 'nodes',
      namespace: undefined,
      labelSelector: undefined,
      transform: trimNode,
      keyOf: () => '*',
    });
  }

  private informer<T extends KubernetesObject, Raw extends KubernetesObject>(
    w: Watched<T, Raw>,
  ): ResilientInformer<T, Raw> {
    const { apiVersion, kind, namespace, labelSelector, keyOf } = w;
    const informer = new ResilientInformer<T, Raw>({
      kubeConfig: this.o.kubeConfig,
      resource: w.resource,
      path: apiPath(apiVersion, w.resource, namespace),
      list: () => this.o.kube.list<Raw>(apiVersion, kind, namespace, labelSelector),
      transform: w.transform,
      ...(labelSelector ? { labelSelector } : {}),
      onEvent: (_type, obj) => {
        const key = keyOf(obj);
        if (key === '*') this.enqueueAll();
        else if (key?.startsWith('ns:')) this.enqueueNamespace(key.slice(3));
        else if (key) this.o.enqueue(key);
      },
      log: this.o.log,
      metrics: this.o.metrics,
      watchdogMs: this.o.watchdogMs,
      relistMs: this.o.relistMs,
      ...(this.o.clock ? { clock: this.o.clock } : {}),
    });
    this.all.push(informer);
    return informer;
  }

  keyOf(obj: KubernetesObject): string {
    return keyOf(obj.metadata ?? {});
  }

  /** Start every informer; resolves once each has listed successfully at least once. */
  async start(): Promise<void> {
    await Promise.all(this.all.map((i) => i.start()));
    while (!this.all.every((i) => i.hasSynced())) await sleep(this.o.clock ?? systemClock, 100);
  }

  stop(): void {
    for (const informer of this.all) informer.stop();
  }

  enqueueAll(): void {
    for (const cr of this.listCrs()) this.o.enqueue(this.keyOf(cr));
  }

  enqueueNamespace(namespace: string): void {
    for (const cr of this.listCrs())
      if (cr.metadata.namespace === namespace) this.o.enqueue(this.keyOf(cr));
  }

  getClaim(namespace: string, name: string): CachedClaim | undefined {
    for (const informer of this.claims) {
      const found = informer.get(name, namespace);
      if (found) return found;
    }
    return undefined;
  }

  listCrs(): ZImageDeploymentObject[] {
    return this.crs.flatMap((i) => [...i.list()]);
  }

  getCr(namespace: string, name: string): ZImageDeploymentObject | undefined {
    for (const informer of this.crs) {
      const found = informer.get(name, namespace);
      if (found) return found;
    }
    return undefined;
  }

  getChild<T extends KubernetesObject>(
    kind: ChildKind,
    namespace: string,
    name: string,
  ): T | undefined {
    for (const informer of this.children.get(kind) ?? []) {
      const found = informer.get(name, namespace);
      if (found) return found as T;
    }
    return undefined;
  }

  /** The pods of one ZImageDeployment (every ReplicaSet of its Deployment). */
  podsOf(namespace: string, crName: string): CachedPod[] {
    return this.pods.flatMap((i) =>
      i.list(namespace).filter((p) => p.metadata?.labels?.[labelKeys.owner] === crName),
    );
  }

  /**
   * The router pods of one ZImageDeployment: ours (managed-by, so the pod informer holds them)
   * with the router's selector labels; they carry no owner label (names.ts says why).
   */
  routersOf(namespace: string, crName: string): CachedPod[] {
    const wanted = Object.entries(routerSelectorLabels(crName));
    return this.pods.flatMap((i) =>
      i.list(namespace).filter((p) => wanted.every(([k, v]) => p.metadata?.labels?.[k] === v)),
    );
  }

  /** True when some node offers the extended resource (e.g. nvidia.com/gpu). */
  hasResource(resource: string): boolean {
    return this.nodes.list().some((n) => n.status?.allocatable?.[resource] !== undefined);
  }
}
