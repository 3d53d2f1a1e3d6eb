/** Worlds and API answers for the Reconciler's unit tests (test/unit/reconciler*.test.ts). */
import type { V1Deployment, V1DeploymentCondition, V1Pod } from '@kubernetes/client-node';
import { expect } from 'vitest';
import type { Condition } from '../../src/operator/api/v1alpha1/status.ts';
import type { WorkResult } from '../../src/operator/queue.ts';
import type { FakeWorld } from './fake-api.ts';
import { apiError } from './fake-api.ts';
import { baseSpec } from './specs.ts';
import { withoutRouter } from '../../dev/specs.ts';

export const supporting = [
  'ServiceAccount/turbo-runtime',
  'Role/turbo-runtime-config',
  'RoleBinding/turbo-runtime-config',
  'ConfigMap/turbo-runtime',
  'Service/turbo',
  'PodDisruptionBudget/turbo',
];
export const all = [...supporting, 'Deployment/turbo'];

/**
 * The reconciler table's spec: the runtime's children only (spec.router off). The router's
 * children, their order and their pruning are reconciler-router.test.ts's; the default spec
 * (router on) has a row of its own there.
 */
export const unroutedSpec = () => withoutRouter(baseSpec());

export function object(generation = 1, spec: unknown = unroutedSpec()) {
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
  const spec = unroutedSpec();
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

// The table's rows and their checks (test/unit/reconciler.test.ts).

export interface Want {
  /** Applies that succeeded, in any order (the plan runs children in parallel). */
  applied: string[];
  /** Other calls that must (not) happen. */
  calls?: string[];
  /** [a, b]: call a happens before call b. */
  order?: [string, string][];
  noCalls?: string[];
  ready?: [Condition['status'], string, ...string[]];
  progressing?: [Condition['status'], string];
  /** No status write at all. */
  noStatus?: true;
  observedGeneration?: number;
  events: string[];
  result: WorkResult | { throws: RegExp };
}

export interface Row {
  name: string;
  given: (w: FakeWorld) => void;
  answers?: FakeWorld['answers'];
  /** Reconcile once first and start counting after it (what it wrote is in the caches). */
  warm?: true;
  want: Want;
}

export async function outcome(w: FakeWorld): Promise<WorkResult | { throws: string }> {
  try {
    return await w.reconciler().reconcile('ml/turbo');
  } catch (err) {
    return { throws: err instanceof Error ? err.message : String(err) };
  }
}

export function checkCalls(w: FakeWorld, want: Want): void {
  const applied = w.calls.filter((c) => c.startsWith('applied ')).map((c) => c.slice(8));
  expect(applied.sort()).toEqual([...want.applied].sort());
  for (const call of want.calls ?? []) expect(w.calls).toContain(call);
  for (const call of want.noCalls ?? []) expect(w.calls).not.toContain(call);
  for (const [a, b] of want.order ?? []) {
    expect(w.calls).toContain(b);
    expect(w.calls.indexOf(a), `${a} before ${b}`).toBeLessThan(w.calls.indexOf(b));
  }
  if (want.noStatus) expect(w.calls).not.toContain('status');
  expect(w.events.map((e) => `${e.type} ${e.reason}`)).toEqual(want.events);
  for (const e of w.events) expect(e.message).not.toMatch(/HTTP-Code/);
}

export function checkStatus(w: FakeWorld, want: Want): void {
  const status = w.statusWrites.at(-1);
  const condition = (type: string) => status?.conditions?.find((c) => c.type === type);
  if (want.ready) {
    const [s, reason, ...words] = want.ready;
    const ready = condition('Ready');
    expect(ready).toMatchObject({ status: s, reason });
    for (const word of words) expect(ready?.message).toContain(word);
    // The Event says the same as the condition.
    const event = w.events.find((e) => e.reason === reason);
    if (event) expect(event.message).toBe(ready?.message.slice(0, 1024));
  }
  if (want.progressing) {
    const [s, reason] = want.progressing;
    expect(condition('Progressing')).toMatchObject({ status: s, reason });
  }
  if (want.observedGeneration !== undefined)
    expect(status?.observedGeneration).toBe(want.observedGeneration);
}
