/**
 * The Reconciler itself, against a fake API boundary (test/support/fake-api.ts), as Knative's
 * TableTest: each row gives the caches and how the API answers, and wants the calls made,
 * the status written, the Events and the WorkResult.
 */
import type { V1ConfigMap, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { apiError, FakeWorld } from '../support/fake-api.ts';
import {
  all,
  checkCalls,
  checkStatus,
  outcome,
  type Row,
  deployment422,
  healthy,
  isKind,
  object,
  once,
  pendingPod,
  replicaFailure,
  running,
  supporting,
  unroutedSpec,
  withRuntime,
} from '../support/reconciler-world.ts';

const rows: Row[] = [
  {
    name: 'fresh create: every child, RoleBinding after its Role, Deployment last',
    given: (w) => w.putCr(object()),
    want: {
      applied: all,
      order: [
        ['applied Role/turbo-runtime-config', 'apply RoleBinding/turbo-runtime-config'],
        ...supporting.map((s): [string, string] => [`applied ${s}`, 'apply Deployment/turbo']),
      ],
      ready: ['False', 'PodsNotReady', '0/1 replicas ready'],
      observedGeneration: 1,
      events: ['Normal Created'],
      result: {},
    },
  },
  {
    name: 'unchanged world: writes nothing',
    given: (w) => running(w, healthy),
    warm: true,
    want: { applied: [], noStatus: true, events: [], result: {} },
  },
  {
    name: 'Deployment refused (422): Ready=False naming child and field, slow recheck',
    given: (w) => running(w, healthy, withRuntime({ resources: { requests: { cpu: '3' } } })),
    answers: { apply: (o) => (isKind('Deployment')(o) ? deployment422 : undefined) },
    want: {
      applied: [],
      noCalls: ['delete Deployment/turbo', 'dryrun Deployment/turbo'],
      ready: [
        'False',
        'ChildRejected',
        'Deployment.apps "turbo" is invalid',
        'spec.template.spec.containers[0].resources.requests[cpu]',
        '[from spec.runtime.resources]',
        'keeps its last applied spec (1/1 pods ready)',
      ],
      progressing: ['False', 'ChildRejected'],
      observedGeneration: 2,
      events: ['Warning ChildRejected'],
      result: { requeueAfterMs: 60_000 },
    },
  },
  {
    name: 'Service refused by quota (403): the Deployment is not applied, nothing deleted',
    given: (w) => {
      running(w, healthy, withRuntime({ attention: 'math' }));
      w.children.delete('Service/ml/turbo');
    },
    answers: {
      apply: (o) =>
        isKind('Service')(o)
          ? apiError(
              403,
              'services "turbo" is forbidden: exceeded quota: no-services, requested: count/services=1, used: count/services=0, limited: count/services=0',
            )
          : isKind('Deployment')(o)
            ? new Error('the Deployment must not be applied')
            : undefined,
    },
    want: {
      applied: [],
      noCalls: ['apply Deployment/turbo', 'delete Service/turbo', 'dryrun Service/turbo'],
      ready: ['False', 'ChildRejected', 'services "turbo" is forbidden: exceeded quota'],
      observedGeneration: 2,
      events: ['Warning ChildRejected'],
      result: { requeueAfterMs: 60_000 },
    },
  },
  {
    name: 'ConfigMap refused and refused on its own too (dry run 422): never deleted',
    given: (w) => running(w, healthy, withRuntime({ steps: 4 })),
    answers: {
      apply: (o) =>
        isKind('ConfigMap')(o)
          ? apiError(
              422,
              "configmaps \"turbo-runtime\" is forbidden: ValidatingAdmissionPolicy 'no-cm' with binding 'no-cm' denied request: no config maps here",
            )
          : undefined,
      dryRun: () => apiError(422, 'configmaps "turbo-runtime" is forbidden: denied'),
    },
    want: {
      applied: [],
      calls: ['dryrun ConfigMap/turbo-runtime'],
      noCalls: ['delete ConfigMap/turbo-runtime', 'apply Deployment/turbo'],
      ready: ['False', 'ChildRejected', "ValidatingAdmissionPolicy 'no-cm'"],
      events: ['Warning ChildRejected'],
      result: { requeueAfterMs: 60_000 },
    },
  },
  {
    name: 'ConfigMap hand-edited beyond repair (422, but fine on its own): recreated',
    given: (w) => {
      running(w, healthy);
      const cm = w.getChild<V1ConfigMap>('ConfigMap', 'ml', 'turbo-runtime')!;
      w.putChild({ ...cm, data: { 'config.json': '{"steps":"nine"}' } } as V1ConfigMap);
    },
    answers: once(
      (o) =>
        isKind('ConfigMap')(o)
          ? apiError(422, 'ConfigMap "turbo-runtime" is invalid: data: Invalid value')
          : undefined,
      () => apiError(409, 'configmaps "turbo-runtime" already exists', { reason: 'AlreadyExists' }),
    ),
    want: {
      applied: ['ConfigMap/turbo-runtime'],
      calls: ['dryrun ConfigMap/turbo-runtime', 'delete ConfigMap/turbo-runtime'],
      events: ['Normal Updated'],
      result: {},
    },
  },
  {
    name: 'Service of another controller refused (422): never deleted',
    given: (w) => {
      running(w, healthy);
      const svc = w.getChild<V1Service>('Service', 'ml', 'turbo')!;
      w.putChild({
        ...svc,
        metadata: {
          ...svc.metadata,
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'u-other', controller: true },
          ],
        },
        spec: { ...svc.spec, ports: [] },
      } as V1Service);
    },
    answers: {
      apply: (o) =>
        isKind('Service')(o)
          ? apiError(
              422,
              'Service "turbo" is invalid: metadata.ownerReferences: Invalid value: []v1.OwnerReference{...}: Only one reference can have Controller set to true',
            )
          : undefined,
    },
    want: {
      applied: [],
      noCalls: ['dryrun Service/turbo', 'delete Service/turbo', 'apply Deployment/turbo'],
      ready: ['False', 'ChildRejected', 'Only one reference can have Controller set to true'],
      events: ['Warning ChildRejected'],
      result: { requeueAfterMs: 60_000 },
    },
  },
  {
    name: 'duplicate pull secrets (500 from the typed patch) is a rejection, not a retry',
    given: (w) =>
      running(w, healthy, { ...unroutedSpec(), imagePullSecrets: [{ name: 'regcred' }] }),
    answers: {
      apply: (o) =>
        isKind('Deployment')(o)
          ? apiError(
              500,
              'failed to create typed patch object (ml/turbo; apps/v1, Kind=Deployment): .spec.template.spec.imagePullSecrets: duplicate entries for key [name="regcred"]',
            )
          : undefined,
    },
    want: {
      applied: [],
      ready: [
        'False',
        'ChildRejected',
        'Deployment "turbo": failed to create typed patch object',
        '[from spec.imagePullSecrets]',
      ],
      events: ['Warning ChildRejected'],
      result: { requeueAfterMs: 60_000 },
    },
  },
  {
    name: 'a quantity that does not convert (500 from the apply) is a rejection too',
    given: (w) => running(w, healthy, withRuntime({ resources: { requests: { cpu: '2' } } })),
    answers: {
      apply: (o) =>
        isKind('Deployment')(o)
          ? apiError(
              500,
              "failed to convert new object (ml/turbo; apps/v1, Kind=Deployment) to proper version: unable to convert unstructured object to apps/v1, Kind=Deployment: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            )
          : undefined,
    },
    want: {
      applied: [],
      ready: [
        'False',
        'ChildRejected',
        'Deployment "turbo": failed to convert',
        '[from spec.runtime.resources]',
      ],
      events: ['Warning ChildRejected'],
      result: { requeueAfterMs: 60_000 },
    },
  },
  {
    name: 'API server error (5xx): thrown for the backoff queue, in its own words',
    given: (w) => w.putCr(object()),
    answers: {
      apply: (o) =>
        isKind('Service')(o) ? apiError(500, 'etcdserver: request timed out') : undefined,
    },
    want: {
      applied: supporting.filter((s) => s !== 'Service/turbo'),
      noCalls: ['apply Deployment/turbo', 'status'],
      events: ['Normal Created', 'Warning ReconcileFailed'],
      result: { throws: /etcdserver: request timed out/ },
    },
  },
  {
    name: 'conflict on the status write (409): retried soon, no Warning',
    given: (w) => w.putCr(object()),
    answers: {
      status: () =>
        apiError(
          409,
          'Operation cannot be fulfilled on zimagedeployments.zimage.dev "turbo": the object has been modified; please apply your changes to the latest version and try again',
          { reason: 'Conflict' },
        ),
    },
    want: {
      applied: all,
      calls: ['status'],
      events: ['Normal Created'],
      result: { requeueAfterMs: 1_000 },
    },
  },
  {
    name: 'ReplicaSet cannot create pods: ReplicaFailure with the controller’s message',
    given: (w) =>
      running(w, {
        replicas: 0,
        readyReplicas: 0,
        updatedReplicas: 0,
        conditions: [replicaFailure],
      }),
    want: {
      applied: [],
      ready: ['False', 'ReplicaFailure', 'exceeded quota: gpus', 'Deployment "turbo"'],
      progressing: ['False', 'ReplicaFailure'],
      observedGeneration: 1,
      events: ['Warning ReplicaFailure'],
      result: {},
    },
  },
  {
    name: 'pods the scheduler cannot place: PodsUnschedulable with its message',
    given: (w) => {
      running(w, { replicas: 2, readyReplicas: 0, updatedReplicas: 2 });
      w.pods = [pendingPod('turbo-6f9c7d-b'), pendingPod('turbo-6f9c7d-a')];
    },
    want: {
      applied: [],
      ready: [
        'False',
        'PodsUnschedulable',
        '2 pods cannot be scheduled; pod "turbo-6f9c7d-a": 0/7 nodes are available',
        'Insufficient nvidia.com/gpu',
      ],
      progressing: ['False', 'PodsUnschedulable'],
      // The Warning waits for the scheduler's longest backoff: reconciler-unschedulable.test.ts.
      events: [],
      result: { requeueAfterMs: 10_000 },
    },
  },
  {
    name: 'a pod waiting for the GPU of a terminating one: a rollout, not a failure',
    given: (w) => {
      running(w, { replicas: 2, readyReplicas: 0, updatedReplicas: 1 });
      const old = pendingPod('turbo-5d8b9c-old');
      old.metadata!.deletionTimestamp = new Date('2026-01-01T00:00:00Z');
      old.status = { phase: 'Running' };
      w.pods = [pendingPod('turbo-6f9c7d-a'), old];
    },
    want: {
      applied: [],
      ready: ['False', 'PodsNotReady'],
      progressing: ['True', 'RollingOut'],
      events: [],
      result: {},
    },
  },
  {
    name: 'a rollout past its progress deadline: ProgressDeadlineExceeded',
    given: (w) =>
      running(w, {
        replicas: 1,
        readyReplicas: 0,
        updatedReplicas: 1,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "turbo-6f9c7d" has timed out progressing.',
          },
        ],
      }),
    want: {
      applied: [],
      ready: ['False', 'ProgressDeadlineExceeded', 'ReplicaSet "turbo-6f9c7d" has timed out'],
      progressing: ['False', 'ProgressDeadlineExceeded'],
      events: ['Warning ProgressDeadlineExceeded'],
      result: {},
    },
  },
  {
    name: 'model claim missing: blocked, running children untouched, rechecked',
    given: (w) => {
      running(w, healthy, withRuntime({ attention: 'math' }));
      w.claims.clear();
    },
    want: {
      applied: [],
      noCalls: ['apply Deployment/turbo'],
      ready: ['False', 'ModelClaimMissing', 'spec.model.source.pvc.claimName'],
      observedGeneration: 2,
      events: ['Warning ModelClaimMissing'],
      result: { requeueAfterMs: 10_000 },
    },
  },
  {
    name: 'invalid spec: InvalidSpec naming the field, nothing applied, no retry',
    given: (w) => w.putCr(object(3, { ...unroutedSpec(), runtime: { image: 'x:1', steps: 0 } })),
    want: {
      applied: [],
      ready: ['False', 'InvalidSpec', 'spec.runtime.steps'],
      observedGeneration: 3,
      events: ['Warning InvalidSpec'],
      result: {},
    },
  },
];

describe('Reconciler (table)', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', async (_n, row) => {
    const w = new FakeWorld();
    row.given(w);
    if (row.warm) {
      await w.reconciler().reconcile('ml/turbo');
      w.resetCalls();
    }
    w.answers = row.answers ?? {};
    const result = await outcome(w);
    if ('throws' in row.want.result) {
      const thrown = (result as { throws?: string }).throws;
      expect(thrown).toMatch(row.want.result.throws);
      expect(thrown).not.toMatch(/HTTP-Code/);
    } else expect(result).toEqual(row.want.result);
    checkCalls(w, row.want);
    checkStatus(w, row.want);
  });
});

describe('Reconciler: the object name', () => {
  it('a name no child can take (admitted under an older CRD) is InvalidSpec naming metadata.name', async () => {
    const w = new FakeWorld();
    const o = object(4);
    o.metadata.name = 'my.model';
    w.putCr(o);
    expect(await w.reconciler().reconcile('ml/my.model')).toEqual({});
    const status = w.statusWrites.at(-1);
    const ready = status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(ready?.message).toMatch(/^metadata\.name: must be a DNS-1035 label/);
    expect(status?.observedGeneration).toBe(4);
    expect(w.calls.filter((c) => c.startsWith('apply'))).toEqual([]);
  });
});
