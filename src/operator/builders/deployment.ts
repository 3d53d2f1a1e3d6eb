import type {
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1PodSpec,
  V1Toleration,
} from '@kubernetes/client-node';
import {
  attentionEnv,
  mountPaths,
  imagesPerRequestRange,
  runtimeEnv,
  runtimePaths,
  runtimePort,
  runtimePortName,
} from '../../contract/runtime.ts';
import { resourceDefaults } from '../api/v1alpha1/runtime-spec.ts';
import type { Effective, ZImageDeployment } from '../api/v1alpha1/types.ts';
import { childNames, selectorLabels } from '../api/v1alpha1/names.ts';
import { runtimeAuth } from './auth.ts';
import { restrictedContainer, restrictedPod } from './shapes.ts';
import { childMeta } from './owner.ts';

/**
 * Startup budget: loading ~21 GB of weights from a network volume at ~200 MB/s takes ~105 s,
 * session creation and one warm-up generation add ~60 s on a cold GPU. 600 s (120 x 5 s) leaves
 * room for slow volumes before the kubelet gives up and restarts the pod.
 */
export const startupBudgetSeconds = 600;
const probePeriodSeconds = 5;

/** Seconds between SIGTERM's preStop pause and the kill: finish the longest request, then exit. */
export function terminationGraceSeconds(requestTimeoutSeconds: number): number {
  // preStop sleep (5 s: endpoints drop the pod first) + the longest in-flight request + 10 s
  // for the runtime to release its sessions and exit.
  return 5 + requestTimeoutSeconds + 10;
}

/**
 * The request limits and deadline, under the runtime's names: the runtime reads them, and so
 * does the router in front of it (builders/router.ts), so a request the router admits is one
 * the pods accept.
 */
export function requestLimitsEnv(cr: ZImageDeployment) {
  const { runtime } = cr.spec;
  return {
    maxResolution: { name: runtimeEnv.maxResolution, value: runtime.maxResolution },
    // Only when it differs from the runtime's own default: rendering the default too would
    // change every existing object's pod template, and roll its pods, on an operator upgrade.
    maxImages: (runtime.maxImagesPerRequest === imagesPerRequestRange.default
      ? []
      : [
          { name: runtimeEnv.maxImagesPerRequest, value: String(runtime.maxImagesPerRequest) },
        ]) satisfies V1EnvVar[],
    requestTimeout: {
      name: runtimeEnv.requestTimeoutSeconds,
      value: String(runtime.requestTimeoutSeconds),
    } satisfies V1EnvVar,
  };
}

function envVars(cr: ZImageDeployment, effective: Effective): V1EnvVar[] {
  const { runtime } = cr.spec;
  const names = childNames(cr.metadata.name);
  const { maxResolution, maxImages, requestTimeout } = requestLimitsEnv(cr);
  const env: V1EnvVar[] = [
    { name: runtimeEnv.configMap, value: names.configMap },
    { name: runtimeEnv.namespace, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: runtimeEnv.podName, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: runtimeEnv.modelDir, value: mountPaths.model },
    { name: runtimeEnv.executionProvider, value: effective.executionProvider },
    { name: runtimeEnv.attention, value: effective.attention },
    { name: runtimeEnv.precision, value: cr.spec.model.precision },
    maxResolution,
    ...maxImages,
    { name: runtimeEnv.maxQueue, value: String(runtime.maxQueue) },
    requestTimeout,
    { name: runtimeEnv.port, value: String(runtimePort) },
    // The runtime refuses (422) sizes whose modelled VRAM exceeds this, instead of an OOM.
    { name: runtimeEnv.gpuMemoryGiB, value: String(cr.spec.gpu.memoryGiB) },
    ...runtimeAuth(cr).env,
  ];
  // ORT reads its attention-kernel switches from the process environment.
  for (const [name, value] of Object.entries(attentionEnv[effective.attention]))
    env.push({ name, value });
  return env;
}

function container(cr: ZImageDeployment, effective: Effective): V1Container {
  const { runtime, gpu } = cr.spec;
  const httpGet = (path: string) => ({ path, port: runtimePortName });
  return {
    name: 'runtime',
    image: runtime.image,
    imagePullPolicy: runtime.imagePullPolicy,
    ports: [{ name: runtimePortName, containerPort: runtimePort, protocol: 'TCP' }],
    env: envVars(cr, effective),
    resources: {
      // The CRD's rules compare these defaults with the user's values (limits >= requests).
      requests: { ...resourceDefaults.requests, ...runtime.resources?.requests },
      limits: {
        ...resourceDefaults.limits,
        ...runtime.resources?.limits,
        [gpu.resource]: String(gpu.count),
      },
    },
    volumeMounts: [
      {
        name: 'model',
        mountPath: mountPaths.model,
        readOnly: true,
        ...(cr.spec.model.source.pvc.subPath ? { subPath: cr.spec.model.source.pvc.subPath } : {}),
      },
      { name: 'tmp', mountPath: mountPaths.tmp },
      { name: 'cache', mountPath: mountPaths.cache },
      ...runtimeAuth(cr).mounts,
    ],
    startupProbe: {
      httpGet: httpGet(runtimePaths.readyz),
      periodSeconds: probePeriodSeconds,
      failureThreshold: startupBudgetSeconds / probePeriodSeconds,
      timeoutSeconds: 2,
    },
    readinessProbe: {
      httpGet: httpGet(runtimePaths.readyz),
      periodSeconds: 5,
      failureThreshold: 2,
      timeoutSeconds: 2,
    },
    // /healthz answers while a generation runs (inference is in a worker thread), so a long
    // request never looks like a hang.
    livenessProbe: {
      httpGet: httpGet(runtimePaths.healthz),
      periodSeconds: 10,
      failureThreshold: 3,
      timeoutSeconds: 5,
    },
    lifecycle: { preStop: { sleep: { seconds: 5 } } },
    securityContext: restrictedContainer,
  };
}

function podSpec(cr: ZImageDeployment, effective: Effective): V1PodSpec {
  const { gpu, runtime } = cr.spec;
  return {
    serviceAccountName: childNames(cr.metadata.name).serviceAccount,
    // The runtime watches its ConfigMap through the API with this token.
    automountServiceAccountToken: true,
    terminationGracePeriodSeconds: terminationGraceSeconds(runtime.requestTimeoutSeconds),
    securityContext: restrictedPod,
    containers: [container(cr, effective)],
    volumes: [
      {
        name: 'model',
        persistentVolumeClaim: { claimName: cr.spec.model.source.pvc.claimName, readOnly: true },
      },
      { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } },
      // ORT and CUDA kernel caches; regenerated on start, so an emptyDir is enough.
      { name: 'cache', emptyDir: { sizeLimit: '4Gi' } },
      ...runtimeAuth(cr).volumes,
    ],
    ...(gpu.nodeSelector ? { nodeSelector: gpu.nodeSelector } : {}),
    ...(gpu.tolerations ? { tolerations: gpu.tolerations as V1Toleration[] } : {}),
    ...(gpu.runtimeClassName ? { runtimeClassName: gpu.runtimeClassName } : {}),
    ...(cr.spec.imagePullSecrets ? { imagePullSecrets: cr.spec.imagePullSecrets } : {}),
  };
}

/**
 * The runtime Deployment. Steps and offload are deliberately absent from the pod template
 * (they live in the ConfigMap), so changing them never restarts a pod; attention, execution
 * provider, precision, image and model are in it, so changing them rolls the pods.
 */
export function buildDeployment(cr: ZImageDeployment, effective: Effective): V1Deployment {
  const name = cr.metadata.name;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: childMeta(cr, childNames(name).deployment),
    spec: {
      replicas: effective.replicas,
      selector: { matchLabels: selectorLabels(name) },
      // GPUs are rarely spare: surging a new pod would leave it Pending forever. Replace one
      // pod at a time instead (maxSurge 0), accepting one replica less during a roll.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
      revisionHistoryLimit: 5,
      progressDeadlineSeconds: startupBudgetSeconds + 60,
      template: {
        metadata: { labels: childMetaLabels(cr) },
        spec: podSpec(cr, effective),
      },
    },
  };
}

function childMetaLabels(cr: ZImageDeployment): Record<string, string> {
  return childMeta(cr, cr.metadata.name).labels ?? {};
}
