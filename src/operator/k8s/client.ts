/**
 * The operator's only door to the Kubernetes API: every call goes through here, counted by
 * verb and code. Server-side apply with one field manager; status through the subresource.
 */
import {
  ApisApi,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { systemClock, type Clock } from '../../contract/clock.ts';
import { crdNames } from '../api/v1alpha1/crd.ts';
import type { ZImageDeploymentObject } from '../api/v1alpha1/types.ts';
import { fieldManager, operatorName } from '../api/v1alpha1/names.ts';
import type { Metrics } from '../metrics.ts';
import { statusCode } from '../../formats/api-status.ts';
import { instrumented } from './instrument.ts';
import { timedConfiguration } from './timeouts.ts';

export class Kube {
  readonly objects: KubernetesObjectApi;
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly apis: ApisApi;
  readonly kubeConfig: KubeConfig;
  private readonly metrics: Metrics;
  /** Pod name or hostname, for Events' reportingInstance. */
  private readonly identity: string;
  private readonly clock: Clock;

  constructor(
    kubeConfig: KubeConfig,
    metrics: Metrics,
    identity: string,
    requestTimeoutMs = 30_000,
    clock: Clock = systemClock,
  ) {
    this.kubeConfig = kubeConfig;
    this.clock = clock;
    this.metrics = metrics;
    this.identity = identity;
    const config = timedConfiguration(kubeConfig, requestTimeoutMs);
    this.objects = new KubernetesObjectApi(config);
    this.core = new CoreV1Api(config);
    this.custom = new CustomObjectsApi(config);
    this.apis = new ApisApi(config);
  }

  list<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    namespace?: string,
    labelSelector?: string,
  ): Promise<KubernetesListObject<T>> {
    return instrumented(this.metrics, 'list', () =>
      this.objects.list<T>(
        apiVersion,
        kind,
        namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        labelSelector,
      ),
    );
  }

  /** Server-side apply, forcing ownership of the fields we set (a hand edit is undone). */
  apply<T extends KubernetesObject>(obj: T): Promise<T> {
    return instrumented(this.metrics, 'apply', () =>
      this.objects.patch(
        obj,
        undefined,
        undefined,
        fieldManager,
        true,
        PatchStrategy.ServerSideApply,
      ),
    );
  }

  /**
   * Create in a dry run: validation and admission run, nothing is stored. For an object that
   * exists this ends in 409 AlreadyExists once everything else has passed.
   */
  async dryRunCreate(obj: KubernetesObject): Promise<void> {
    await instrumented(this.metrics, 'dryrun', () =>
      this.objects.create(obj, undefined, 'All', fieldManager),
    );
  }

  /** Delete an object (foreground is not needed: children of ours own nothing). */
  async delete(obj: KubernetesObject): Promise<void> {
    await instrumented(this.metrics, 'delete', () => this.objects.delete(obj));
  }

  /** Read an object, or undefined when it does not exist. */
  async read<T extends KubernetesObject>(header: {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace: string };
  }): Promise<T | undefined> {
    try {
      return await instrumented(this.metrics, 'get', () => this.objects.read<T>(header));
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  /**
   * Replace the status subresource. The object carries the resourceVersion we read, so a
   * concurrent change gives 409 Conflict, which the queue retries with backoff.
   */
  replaceStatus(cr: ZImageDeploymentObject): Promise<unknown> {
    return instrumented(this.metrics, 'status', () =>
      this.custom.replaceNamespacedCustomObjectStatus({
        group: crdNames.group,
        version: crdNames.version,
        namespace: cr.metadata.namespace!,
        plural: crdNames.plural,
        name: cr.metadata.name!,
        body: cr,
        fieldManager,
      }),
    );
  }

  /**
   * Set spec.replicas through the scale subresource, as HPA does (the autoscaler in Enforce
   * mode). No resourceVersion: an unconditional update of one field, which cannot clobber
   * anything else of the object.
   */
  replaceScale(cr: ZImageDeploymentObject, replicas: number): Promise<unknown> {
    const { name, namespace } = cr.metadata as { name: string; namespace: string };
    return instrumented(this.metrics, 'scale', () =>
      this.custom.replaceNamespacedCustomObjectScale({
        group: crdNames.group,
        version: crdNames.version,
        namespace,
        plural: crdNames.plural,
        name,
        body: {
          apiVersion: 'autoscaling/v1',
          kind: 'Scale',
          metadata: { name, namespace },
          spec: { replicas },
        },
        fieldManager,
      }),
    );
  }

  /** Whether the API server serves an API group (e.g. monitoring.coreos.com). */
  async servesGroup(group: string): Promise<boolean> {
    const list = await instrumented(this.metrics, 'get', () => this.apis.getAPIVersions());
    return list.groups.some((g) => g.name === group);
  }

  async event(
    cr: ZImageDeploymentObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const now = new Date(this.clock.now());
    await instrumented(this.metrics, 'create', () =>
      this.core.createNamespacedEvent({
        namespace: cr.metadata.namespace!,
        body: {
          metadata: { generateName: `${cr.metadata.name}.`, namespace: cr.metadata.namespace! },
          involvedObject: {
            apiVersion: `${crdNames.group}/${crdNames.version}`,
            kind: crdNames.kind,
            name: cr.metadata.name!,
            namespace: cr.metadata.namespace!,
            uid: cr.metadata.uid!,
          },
          type,
          reason,
          message: message.slice(0, 1024),
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          source: { component: operatorName },
          reportingComponent: operatorName,
          reportingInstance: this.identity,
        },
      }),
    );
  }
}
