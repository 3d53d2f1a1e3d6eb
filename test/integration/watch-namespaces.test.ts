/**
 * --watch-namespaces against the real API server: an operator told to watch namespace A
 * reconciles the ZImageDeployment there and never touches the one in namespace B, although its
 * RBAC (a ClusterRole) would let it.
 */
import { ApiException } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { childNames } from '../../src/operator/api/v1alpha1/names.ts';
import { createModelVolume } from '../../dev/volumes.ts';
import { clients, createNamespace, eventually } from '../support/k8s.ts';
import { startTestOperator, type OperatorProcess } from '../support/operator.ts';
import { baseSpec } from '../support/specs.ts';
import { zidClient } from '../support/zid.ts';

const kubeconfigPath = inject('kubeconfigPath');
const { kc, core, apps } = clients(kubeconfigPath);
const zid = zidClient(kc);
let watched: string;
let ignored: string;
let op: OperatorProcess;

async function deploymentExists(namespace: string, name: string): Promise<boolean> {
  try {
    await apps.readNamespacedDeployment({ namespace, name });
    return true;
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return false;
    throw err;
  }
}

beforeAll(async () => {
  watched = await createNamespace(core, 'watched');
  ignored = await createNamespace(core, 'ignored');
  // Both get a model claim, so nothing but the namespace tells the two objects apart.
  for (const namespace of [watched, ignored]) {
    await createModelVolume(kc, { namespace, name: 'zimage-models' });
  }
  op = await startTestOperator(kubeconfigPath, {
    args: [`--watch-namespaces=${watched}`],
  });
});

afterAll(async () => {
  await op?.stop();
  for (const namespace of [watched, ignored]) {
    await core.deleteNamespace({ name: namespace });
    await core.deletePersistentVolume({ name: `${namespace}-zimage-models` });
  }
});

describe('--watch-namespaces', () => {
  it('reconciles the object in the watched namespace and ignores the other', async () => {
    expect(op.logs()).toContain(`"namespaces":["${watched}"]`);
    // The ignored object first: an operator that watched everything would see it before the
    // watched one, so by the time the watched one has a status it would have one too.
    await zid.create(ignored, 'turbo', baseSpec());
    await zid.create(watched, 'turbo', baseSpec());

    const reconciled = await eventually('the watched object reconciled', async () => {
      const obj = await zid.get(watched, 'turbo');
      return obj.status?.observedGeneration === 1 ? obj : undefined;
    });
    expect(reconciled.status?.conditions?.map((c) => c.type)).toContain('Ready');
    expect(await deploymentExists(watched, childNames('turbo').deployment)).toBe(true);

    const untouched = await zid.get(ignored, 'turbo');
    expect(untouched.status).toBeUndefined();
    expect(await deploymentExists(ignored, childNames('turbo').deployment)).toBe(false);
  });
});
