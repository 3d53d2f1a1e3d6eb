import type { V1ConfigMap, V1Deployment, V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { liveConfigKey } from '../../src/contract/runtime.ts';
import type { ZImageDeploymentObject } from '../../src/operator/api/v1alpha1/types.ts';
import { childNames } from '../../src/operator/api/v1alpha1/names.ts';
import { createModelVolume } from '../../dev/volumes.ts';
import { clients, eventsFor, eventually, isReady } from '../support/k8s.ts';
import { kubectl } from '../../dev/operator.ts';
import { startTestOperator, type OperatorProcess } from '../support/operator.ts';
import { baseSpec, invalidSpecs, validSpecs } from '../support/specs.ts';
import { withoutRouter } from '../../dev/specs.ts';
import { apiVerdict, condition, waitForCondition, zidClient } from '../support/zid.ts';

const kubeconfigPath = inject('kubeconfigPath');
const { kc, core, apps } = clients(kubeconfigPath);
const zid = zidClient(kc);
const namespace = 'zid-it';
let op: OperatorProcess;

/** A spec that lands on the 16 GiB pool (2 nodes x 1 GPU). */
const smallCardSpec = (extra: Record<string, unknown> = {}) => ({
  ...withoutRouter(baseSpec()),
  gpu: { memoryGiB: 16, nodeSelector: { 'nvidia.com/gpu.memory': '16384' } },
  ...extra,
});

const deploymentOf = (name: string) => apps.readNamespacedDeployment({ name, namespace });
const replicaSetNames = async (name: string) =>
  (
    await apps.listNamespacedReplicaSet({
      namespace,
      labelSelector: `app.kubernetes.io/instance=${name}`,
    })
  ).items
    .filter((rs) => (rs.spec?.replicas ?? 0) > 0)
    .map((rs) => rs.metadata!.name!);

beforeAll(async () => {
  // Runtime pods must pass Pod Security "restricted".
  await core.createNamespace({
    body: {
      metadata: { name: namespace, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
    },
  });
  await createModelVolume(kc, { namespace, name: 'zimage-models' });
  await createModelVolume(kc, { namespace, name: 'rwo-models', accessMode: 'ReadWriteOnce' });
  op = await startTestOperator(kubeconfigPath, {
    env: { ZIMAGE_RELIST_SECONDS: '3' },
  });
});

afterAll(async () => {
  await op?.stop();
  await core.deleteNamespace({ name: namespace });
});

describe('validation at kubectl apply time', () => {
  it.each(invalidSpecs.map((c) => [c.name, c] as const))(
    'API server rejects %s, naming the field',
    async (_n, c) => {
      const verdict = await apiVerdict(kc, namespace, c.objectName ?? 'invalid', c.spec());
      expect(verdict).toMatch(/^4(00|22): /);
      expect(verdict).toContain(c.apiField ?? c.field);
      if (c.message) expect(verdict).toContain(c.message);
    },
  );

  it.each(validSpecs.map((c) => [c.name, c] as const))('API server accepts %s', async (_n, c) => {
    expect(await apiVerdict(kc, namespace, c.objectName ?? 'valid', c.spec())).toBe('accepted');
  });
});

describe('reconcile', () => {
  it('creates every child with an owner reference; pods run on the 16 GiB pool; status Ready', async () => {
    const created = await zid.create(namespace, 'turbo', smallCardSpec());
    const ready = await waitForCondition(kc, namespace, 'turbo', 'Ready', 'True');
    expect(ready.status).toMatchObject({ replicas: 1, readyReplicas: 1, observedGeneration: 1 });
    expect(ready.status?.selector).toBe(
      'app.kubernetes.io/name=zimage-runtime,app.kubernetes.io/instance=turbo',
    );
    expect(condition(ready, 'MetricsAvailable')?.status).toBe('Unknown');

    const names = childNames('turbo');
    const children = [
      ['deployment', 'apps/v1', names.deployment],
      ['service', 'v1', names.service],
      ['poddisruptionbudget', 'policy/v1', names.pdb],
      ['configmap', 'v1', names.configMap],
      ['serviceaccount', 'v1', names.serviceAccount],
      ['role', 'rbac.authorization.k8s.io/v1', names.role],
      ['rolebinding', 'rbac.authorization.k8s.io/v1', names.roleBinding],
    ];
    for (const [kind, , name] of children) {
      const json = JSON.parse(
        kubectl(kubeconfigPath, '-n', namespace, 'get', kind!, name!, '-o', 'json'),
      ) as {
        metadata: { ownerReferences: { uid: string; controller: boolean }[] };
      };
      expect(json.metadata.ownerReferences, `${kind}/${name}`).toEqual([
        expect.objectContaining({ uid: created.metadata.uid, controller: true }),
      ]);
    }
    const pods = (
      await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/instance=turbo' })
    ).items;
    expect(pods).toHaveLength(1);
    expect(isReady(pods[0]!)).toBe(true);
    expect(pods[0]!.spec?.nodeName).toMatch(/^gpu-rtx4090-/);

    const table = kubectl(kubeconfigPath, '-n', namespace, 'get', 'zid', 'turbo');
    expect(table).toMatch(
      /NAME\s+REPLICAS\s+READY\s+ROUTERS\s+STEPS\s+OFFLOAD\s+ATTENTION\s+LAST ACTION\s+AGE/,
    );
    // ROUTERS is empty with the router off.
    expect(table).toMatch(/turbo\s+1\s+1\s+(<none>\s+)?9\s+none\s+cudnn/);
  });

  it('changes steps and offload live (ConfigMap only, same ReplicaSet)', async () => {
    const before = await replicaSetNames('turbo');
    await zid.patchSpec(namespace, 'turbo', { runtime: { steps: 4, offload: 'model' } });
    const cm = await eventually('ConfigMap updated', async () => {
      const c: V1ConfigMap = await core.readNamespacedConfigMap({
        name: childNames('turbo').configMap,
        namespace,
      });
      return c.data?.[liveConfigKey] === JSON.stringify({ steps: 4, offload: 'model' })
        ? c
        : undefined;
    });
    expect(cm).toBeDefined();
    const status = await eventually('status effective', async () => {
      const obj = await zid.get(namespace, 'turbo');
      return obj.status?.effective?.steps === 4 && obj.status.observedGeneration === 2
        ? obj
        : undefined;
    });
    expect(status.status?.effective?.offload).toBe('model');
    expect(await replicaSetNames('turbo')).toEqual(before);
  });

  it('rolls the pods when the attention backend changes', async () => {
    const before = await replicaSetNames('turbo');
    await zid.patchSpec(namespace, 'turbo', { runtime: { attention: 'math' } });
    const after = await eventually('a new ReplicaSet serving', async () => {
      const names = await replicaSetNames('turbo');
      return names.length === 1 && names[0] !== before[0] ? names : undefined;
    });
    expect(after).not.toEqual(before);
    const d = await deploymentOf('turbo');
    const env = d.spec?.template.spec?.containers[0]?.env ?? [];
    expect(env).toContainEqual({ name: 'ORT_DISABLE_FUSED_ATTENTION', value: '1' });
    await waitForCondition(kc, namespace, 'turbo', 'Ready', 'True');
  });

  it('follows `kubectl scale` through the scale subresource', async () => {
    kubectl(kubeconfigPath, '-n', namespace, 'scale', 'zid/turbo', '--replicas=2');
    const obj = await eventually('2 ready replicas', async () => {
      const o = await zid.get(namespace, 'turbo');
      return o.status?.readyReplicas === 2 ? o : undefined;
    });
    expect((await deploymentOf('turbo')).spec?.replicas).toBe(2);
    expect(obj.status?.replicas).toBe(2);
  });

  it('restores a deleted or hand-edited child', async () => {
    const names = childNames('turbo');
    await core.deleteNamespacedConfigMap({ name: names.configMap, namespace });
    await eventually('ConfigMap back', () =>
      core.readNamespacedConfigMap({ name: names.configMap, namespace }),
    );
    kubectl(
      kubeconfigPath,
      '-n',
      namespace,
      'patch',
      'service',
      names.service,
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/ports/0/port","value":8888}]',
    );
    await eventually('Service port restored', async () => {
      const s: V1Service = await core.readNamespacedService({ name: names.service, namespace });
      return s.spec?.ports?.[0]?.port === 80 ? true : undefined;
    });
  });

  it('writes nothing when nothing changed, across relists', async () => {
    const snapshot = async () => {
      const d = await deploymentOf('turbo');
      const cm = await core.readNamespacedConfigMap({
        name: childNames('turbo').configMap,
        namespace,
      });
      const cr = await zid.get(namespace, 'turbo');
      const writes =
        (await op.metric('zimage_operator_api_requests_total', { verb: 'apply' })) +
        (await op.metric('zimage_operator_api_requests_total', { verb: 'status' })) +
        (await op.metric('zimage_operator_api_requests_total', { verb: 'create' }));
      return [
        d.metadata?.resourceVersion,
        cm.metadata?.resourceVersion,
        cr.metadata.resourceVersion,
        writes,
      ];
    };
    await eventually('the rollout and its status settled', rolloutSettled);
    const before = await snapshot();
    // Relists every 3 s (ZIMAGE_RELIST_SECONDS above): wait for two of each informer the snapshot
    // reads and for reconciles after them, so a write that a relist would cause has happened.
    const relisted = ['zimagedeployments', 'deployments', 'configmaps'];
    const relists = () =>
      Promise.all(
        relisted.map((resource) =>
          op.metric('zimage_operator_watch_restarts_total', { resource, reason: 'relist' }),
        ),
      );
    const reconciles = () => op.metric('zimage_operator_reconciles_total');
    const [relistsBefore, reconcilesBefore] = [await relists(), await reconciles()];
    await eventually(
      'two relists of each informer and two reconciles',
      async () => {
        const now = await relists();
        const twice = now.every((n, i) => n >= relistsBefore[i]! + 2);
        return twice && (await reconciles()) >= reconcilesBefore + 2 ? true : undefined;
      },
      30_000,
    );
    expect(await snapshot()).toEqual(before);
  });
});

/**
 * True once 'turbo' has finished rolling out and its status says so: the Deployment has seen its
 * generation and runs its replicas, all updated, ready and available, from one ReplicaSet; the
 * ZImageDeployment's status has seen its generation, counts the same replicas, and reports Ready
 * and RolloutComplete. The status is computed from the Deployment's, so this also shows that the
 * operator has reconciled the Deployment's last change.
 */
async function rolloutSettled(): Promise<true | undefined> {
  const cr = await zid.get(namespace, 'turbo');
  const d = await deploymentOf('turbo');
  // The Deployment's replicas are the spec's once the status has seen the generation (below).
  const want = d.spec?.replicas;
  const ds = d.status ?? {};
  const deploymentDone =
    ds.observedGeneration === d.metadata?.generation &&
    [ds.replicas, ds.updatedReplicas, ds.readyReplicas, ds.availableReplicas].every(
      (n) => n === want,
    );
  const done = deploymentDone && statusSettled(cr, want);
  return done && (await replicaSetNames('turbo')).length === 1 ? true : undefined;
}

function statusSettled(cr: ZImageDeploymentObject, replicas: number | undefined): boolean {
  const s = cr.status;
  return (
    s !== undefined &&
    s.observedGeneration === cr.metadata.generation &&
    s.replicas === replicas &&
    s.readyReplicas === replicas &&
    condition(cr, 'Ready')?.status === 'True' &&
    condition(cr, 'Progressing')?.reason === 'RolloutComplete'
  );
}

describe('specs that pass validation but cannot run', () => {
  it('reports an unknown GPU resource and leaves the running Deployment alone', async () => {
    const before: V1Deployment = await deploymentOf('turbo');
    await zid.patchSpec(namespace, 'turbo', { gpu: { resource: 'example.com/tpu' } });
    const obj = await waitForCondition(
      kc,
      namespace,
      'turbo',
      'Ready',
      'False',
      'GpuResourceUnknown',
    );
    expect(condition(obj, 'Ready')?.message).toContain('example.com/tpu');
    expect((await deploymentOf('turbo')).metadata?.generation).toBe(before.metadata?.generation);
    await zid.patchSpec(namespace, 'turbo', { gpu: { resource: 'nvidia.com/gpu' } });
    await waitForCondition(kc, namespace, 'turbo', 'Ready', 'True');
  });

  it('reports a missing model claim with a Warning event and creates nothing', async () => {
    await zid.create(namespace, 'no-claim', {
      ...smallCardSpec(),
      model: { source: { pvc: { claimName: 'nope' } } },
    });
    const obj = await waitForCondition(
      kc,
      namespace,
      'no-claim',
      'Ready',
      'False',
      'ModelClaimMissing',
    );
    expect(condition(obj, 'Ready')?.message).toContain('"nope"');
    const events = await eventually('a Warning event', async () =>
      (await eventsFor(core, namespace, 'no-claim')).find((e) => e.reason === 'ModelClaimMissing'),
    );
    expect(events.type).toBe('Warning');
    await expect(deploymentOf('no-claim')).rejects.toThrow();
  });

  it('marks a ReadWriteOnce model claim shared by two replicas Degraded', async () => {
    await zid.create(namespace, 'rwo', {
      ...smallCardSpec({ replicas: 2 }),
      model: { source: { pvc: { claimName: 'rwo-models' } } },
    });
    const obj = await waitForCondition(
      kc,
      namespace,
      'rwo',
      'Degraded',
      'True',
      'ModelClaimReadWriteOnce',
    );
    expect(condition(obj, 'Degraded')?.message).toContain('ReadOnlyMany');
    await zid.delete(namespace, 'rwo');
  });
});

describe('deletion', () => {
  it('garbage-collects every child when the ZImageDeployment is deleted', async () => {
    await zid.delete(namespace, 'turbo');
    await eventually('children gone', () => {
      const left = kubectl(
        kubeconfigPath,
        '-n',
        namespace,
        'get',
        'deploy,svc,pdb,cm,sa,role,rolebinding,pods',
        '-l',
        'app.kubernetes.io/instance=turbo',
        '-o',
        'name',
      );
      return left.trim() === '' ? true : undefined;
    });
    // The operator survived everything above.
    expect(op.child.exitCode).toBeNull();
  });
});
