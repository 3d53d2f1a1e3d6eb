/**
 * Specs and situations that `kubectl apply` accepts but that cannot run: the API server
 * refuses a child (validation, quota, admission policy, an object of someone else's), a
 * controller cannot create the pods, or the scheduler cannot place them. Every row must end
 * in Ready=False with a reason and the words that name the child and field, or the
 * controller's or scheduler's own. Each stays valid for the CRD: the cases the CRD rejects at
 * apply time belong in specs.ts (invalidSpecs).
 */
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1ResourceQuota,
} from '@kubernetes/client-node';
import { eventually } from './k8s.ts';
import type { baseSpec } from './specs.ts';

type Spec = ReturnType<typeof baseSpec>;

export interface CaseEnv {
  /** Admin access. */
  kc: KubeConfig;
  namespace: string;
  /** The ZImageDeployment's name. */
  name: string;
}

export interface UnrunnableCase {
  name: string;
  /** The spec, from a runnable one. */
  spec: (base: Spec) => Spec;
  /** What the namespace holds before the object arrives; returns its cluster-scoped cleanup. */
  setup?: (env: CaseEnv) => Promise<(() => Promise<void>) | void>;
  reason: 'ChildRejected' | 'ReplicaFailure' | 'PodsUnschedulable';
  /** Words the Ready message must hold: the child and field, or the controller's words. */
  words: (env: CaseEnv) => string[];
  /**
   * Refused before the Deployment changes, so a healthy object patched into it keeps its
   * pods (a spec-only case; below-Deployment failures roll the pods by design: maxSurge 0).
   */
  keepsPods?: true;
}

const withResources = (resources: Record<string, unknown>) => (base: Spec) => ({
  ...base,
  runtime: { ...base.runtime, resources },
});
const withGpu = (gpu: Record<string, unknown>) => (base: Spec) => ({
  ...base,
  gpu: { ...(base.gpu ?? {}), ...gpu },
});
const same = (base: Spec) => base;

/** A ResourceQuota, once the quota controller has computed its usage (admission needs it). */
async function quota(env: CaseEnv, hard: Record<string, string>): Promise<void> {
  const core = env.kc.makeApiClient(CoreV1Api);
  await core.createNamespacedResourceQuota({
    namespace: env.namespace,
    body: { metadata: { name: 'limits' }, spec: { hard } },
  });
  await eventually(`quota in ${env.namespace} computed`, async () => {
    const q: V1ResourceQuota = await core.readNamespacedResourceQuota({
      name: 'limits',
      namespace: env.namespace,
    });
    return Object.keys(hard).every((k) => q.status?.used?.[k] !== undefined) ? true : undefined;
  });
}

/**
 * A ValidatingAdmissionPolicy, bound to this namespace only, that denies one resource; waits
 * until the API server enforces it (its policy informer takes a moment).
 */
async function denyPolicy(
  env: CaseEnv,
  group: string,
  resource: string,
  message: string,
): Promise<() => Promise<void>> {
  const api = env.kc.makeApiClient(AdmissionregistrationV1Api);
  const name = `deny-${resource}-${env.namespace}`;
  await api.createValidatingAdmissionPolicy({
    body: {
      metadata: { name },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: [group],
              apiVersions: ['v1'],
              operations: ['CREATE', 'UPDATE'],
              resources: [resource],
            },
          ],
        },
        validations: [
          {
            expression:
              "!has(object.metadata.labels) || !('app.kubernetes.io/managed-by' in object.metadata.labels)",
            message,
          },
        ],
      },
    },
  });
  await api.createValidatingAdmissionPolicyBinding({
    body: {
      metadata: { name },
      spec: {
        policyName: name,
        validationActions: ['Deny'],
        matchResources: {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': env.namespace } },
        },
      },
    },
  });
  const probe = { name: 'probe', labels: { 'app.kubernetes.io/managed-by': 'probe' } };
  const core = env.kc.makeApiClient(CoreV1Api);
  const apps = env.kc.makeApiClient(AppsV1Api);
  const labels = { probe: 'p' };
  const tryCreate = () =>
    resource === 'configmaps'
      ? core.createNamespacedConfigMap({
          namespace: env.namespace,
          dryRun: 'All',
          body: { metadata: probe },
        })
      : apps.createNamespacedDeployment({
          namespace: env.namespace,
          dryRun: 'All',
          body: {
            metadata: probe,
            spec: {
              selector: { matchLabels: labels },
              template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'x' }] } },
            },
          },
        });
  await eventually(`policy ${name} enforced`, async () => {
    try {
      await tryCreate();
      return undefined;
    } catch (err) {
      if (String(err).includes(message)) return true;
      throw err;
    }
  });
  return async () => {
    await api.deleteValidatingAdmissionPolicyBinding({ name });
    await api.deleteValidatingAdmissionPolicy({ name });
  };
}

// Negative or malformed quantities and bad resource names are refused at apply by the CRD's own
// rules (test/support/specs.ts); the operator still maps the API server's refusal of them (a
// 422, or the 500 of an apply that cannot convert a quantity) for objects admitted under an
// older CRD: see the Reconciler table test.
export const unrunnableSpecs: UnrunnableCase[] = [
  // Refused children: ChildRejected, the API server's words.
  {
    name: 'an extended resource requested without a limit',
    spec: withResources({ requests: { 'example.com/fpga': 1 } }),
    reason: 'ChildRejected',
    words: ({ name }) => [
      `Deployment.apps "${name}" is invalid`,
      'Limit must be set for non overcommitable resources',
      'spec.runtime.resources',
    ],
    keepsPods: true,
  },
  {
    name: 'a fractional extended resource',
    spec: withResources({ limits: { 'example.com/fpga': '500m' } }),
    reason: 'ChildRejected',
    words: ({ name }) => [
      `Deployment.apps "${name}" is invalid`,
      'example.com/fpga',
      'must be an integer',
      'spec.runtime.resources',
    ],
    keepsPods: true,
  },
  {
    name: 'a quota of zero Services',
    spec: same,
    setup: (env) => quota(env, { 'count/services': '0' }),
    reason: 'ChildRejected',
    words: ({ name }) => [`services "${name}" is forbidden: exceeded quota`],
  },
  {
    name: 'a quota of zero Deployments',
    spec: same,
    setup: (env) => quota(env, { 'count/deployments.apps': '0' }),
    reason: 'ChildRejected',
    words: ({ name }) => [`deployments.apps "${name}" is forbidden: exceeded quota`],
  },
  {
    name: 'an admission policy that denies our Deployment',
    spec: same,
    setup: (env) => denyPolicy(env, 'apps', 'deployments', 'no operator-managed Deployments here'),
    reason: 'ChildRejected',
    words: ({ name }) => [`deployments.apps "${name}"`, 'no operator-managed Deployments here'],
  },
  {
    name: 'an admission policy that denies our ConfigMap',
    spec: same,
    setup: (env) => denyPolicy(env, '', 'configmaps', 'no operator-managed ConfigMaps here'),
    reason: 'ChildRejected',
    words: ({ name }) => [`configmaps "${name}-runtime"`, 'no operator-managed ConfigMaps here'],
  },
  {
    name: 'a Service of the same name that another controller owns',
    spec: same,
    setup: async ({ kc, namespace, name }) => {
      const core = kc.makeApiClient(CoreV1Api);
      const owner = await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: 'someone-else' } },
      });
      await core.createNamespacedService({
        namespace,
        body: {
          metadata: {
            name,
            ownerReferences: [
              {
                apiVersion: 'v1',
                kind: 'ConfigMap',
                name: 'someone-else',
                uid: owner.metadata!.uid!,
                controller: true,
              },
            ],
          },
          spec: { ports: [{ name: 'theirs', port: 9 }], selector: { app: 'theirs' } },
        },
      });
    },
    reason: 'ChildRejected',
    words: ({ name }) => [`Service "${name}" is invalid`, 'metadata.ownerReferences', 'Controller'],
  },
  // Pods that cannot be created: ReplicaFailure, the ReplicaSet controller's words.
  {
    name: 'an unknown RuntimeClass',
    spec: withGpu({ runtimeClassName: 'nvidia-missing' }),
    reason: 'ReplicaFailure',
    words: () => ['RuntimeClass "nvidia-missing" not found'],
  },
  {
    name: 'a memory quota smaller than one pod',
    spec: same,
    setup: (env) => quota(env, { 'requests.memory': '1Gi' }),
    reason: 'ReplicaFailure',
    words: () => ['exceeded quota', 'requests.memory'],
  },
  {
    name: 'a GPU quota of zero',
    spec: same,
    setup: (env) => quota(env, { 'requests.nvidia.com/gpu': '0' }),
    reason: 'ReplicaFailure',
    words: () => ['exceeded quota', 'requests.nvidia.com/gpu'],
  },
  {
    name: 'a LimitRange whose maximum is below the pod’s memory',
    spec: same,
    setup: async ({ kc, namespace }) => {
      await kc.makeApiClient(CoreV1Api).createNamespacedLimitRange({
        namespace,
        body: {
          metadata: { name: 'small' },
          spec: { limits: [{ type: 'Container', max: { memory: '8Gi' } }] },
        },
      });
    },
    reason: 'ReplicaFailure',
    words: () => ['maximum memory usage per Container is 8Gi'],
  },
  // Pods that cannot be placed: PodsUnschedulable, the scheduler's words.
  {
    name: '8 GPUs asked on the 1-GPU nodes',
    spec: withGpu({ count: 8, memoryGiB: 16, nodeSelector: { 'nvidia.com/gpu.memory': '16384' } }),
    reason: 'PodsUnschedulable',
    words: () => ['0/', 'nodes are available', 'Insufficient nvidia.com/gpu'],
  },
  {
    name: 'more memory than any node has',
    spec: withResources({ requests: { memory: '4Ti' }, limits: { memory: '4Ti' } }),
    reason: 'PodsUnschedulable',
    words: () => ['nodes are available', 'Insufficient memory'],
  },
  {
    name: 'a node selector no node matches',
    spec: withGpu({ nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-B200' } }),
    reason: 'PodsUnschedulable',
    words: () => ['nodes are available', "didn't match Pod's node affinity/selector"],
  },
];
