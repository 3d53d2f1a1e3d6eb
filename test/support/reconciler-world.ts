/** Worlds and API answers for the Reconciler's unit tests (test/unit/reconciler*.test.ts). */
import type { V1Deployment, V1DeploymentCondition, V1Pod } from '@kubernetes/client-node';
import type { FakeWorld } from './fake-api.ts';
import { apiError } from './fake-api.ts';
import { baseSpec } from './specs.ts';

export const supporting = [
  'ServiceAccount/turbo-runtime',
  'Role/turbo-runtime-config',
  'RoleBinding/turbo-runtime-config',
  'ConfigMap/turbo-runtime',
  'Service/turbo',
  'PodDisruptionBudget/turbo',
];
export const all = [...supporting, 'Deployment/turbo'];

export function object(generation = 1, spec: unknown = baseSpec()) {
  return {
    apiVersion: 'zimage.dev/v1alpha1',
    kind: 'ZImageDeployment',
    metadata: { name: 'turbo', namespace: 'ml', uid: 'u-1', generation },
    spec,
  };
}

/**
 * A running world: every child applied for generation 1, the Deployment with this status;
 * with `next`, the object has since moved to generation 2 with that spec.
 */
export function running(w: FakeWorld, status: V1Deployment['status'], next?: unknown): void {
  w.putCr(object(1));
  w.settle();
  const d = structuredClone(w.getChild<V1Deployment>('Deployment', 'ml', 'turbo')!);
  d.metadata!.generation = 1;
  w.putChild({ ...d, status: { observedGeneration: 1, ...status } } as V1Deployment);
  if (next) w.putCr(object(2, next));
}

export const withRuntime = (runtime: Record<string, unknown>) => {
  const spec = baseSpec();
  return { ...spec, runtime: { ...spec.runtime, ...runtime } };
};

export const healthy = { replicas: 1, readyReplicas: 1, updatedReplicas: 1 };
export const replicaFailure: V1DeploymentCondition = {
  type: 'ReplicaFailure',
  status: 'True',
  reason: 'FailedCreate',
  message:
    'pods "turbo-6f9c7d-x2v" is forbidden: exceeded quota: gpus, requested: requests.nvidia.com/gpu=1, used: requests.nvidia.com/gpu=0, limited: requests.nvidia.com/gpu=0',
};
export const pendingPod = (name: string): V1Pod => ({
  metadata: {
    name,
    namespace: 'ml',
    labels: { 'app.kubernetes.io/instance': 'turbo' },
  },
  status: {
    phase: 'Pending',
    conditions: [
      {
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message:
          "0/7 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 6 Insufficient nvidia.com/gpu.",
      },
    ],
  },
});
export const deployment422 = apiError(
  422,
  'Deployment.apps "turbo" is invalid: spec.template.spec.containers[0].resources.requests[cpu]: Invalid value: "-1": must be greater than or equal to 0',
  {
    causes: [
      {
        reason: 'FieldValueInvalid',
        message: 'Invalid value: "-1": must be greater than or equal to 0',
        field: 'spec.template.spec.containers[0].resources.requests[cpu]',
      },
    ],
  },
);
export const isKind = (kind: string) => (obj: { kind?: string }) => obj.kind === kind;

/** Answers where the first matching apply fails and the rest succeed. */
export function once(
  apply: NonNullable<FakeWorld['answers']['apply']>,
  dryRun: NonNullable<FakeWorld['answers']['dryRun']>,
): FakeWorld['answers'] {
  let failed = false;
  return {
    apply: (o) => {
      const err = failed ? undefined : apply(o);
      if (err) failed = true;
      return err;
    },
    dryRun,
  };
}
