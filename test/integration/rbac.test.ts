import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { clients, createNamespace, eventually } from '../support/k8s.ts';

const { kc, core } = clients(inject('kubeconfigPath'));
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
let namespace: string;

/** A client that authenticates with a service account's bound token, as a pod would. */
async function serviceAccountClient(name: string): Promise<CoreV1Api> {
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  const { status } = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 600 } },
  });
  const cluster = kc.getCurrentCluster()!;
  const saConfig = new KubeConfig();
  saConfig.loadFromOptions({
    clusters: [{ name: 'c', server: cluster.server, caData: cluster.caData, skipTLSVerify: false }],
    users: [{ name, token: status!.token }],
    contexts: [{ name: 'c', cluster: 'c', user: name }],
    currentContext: 'c',
  });
  return saConfig.makeApiClient(CoreV1Api);
}

async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
}

beforeAll(async () => {
  namespace = await createNamespace(core, 'rbac');
});
afterAll(async () => {
  await core.deleteNamespace({ name: namespace });
});

describe('RBAC', () => {
  it('denies a service account without a Role (403) and allows it once bound', async () => {
    const sa = await serviceAccountClient('no-role');
    expect(await statusOf(sa.listNamespacedPod({ namespace }))).toBe(403);
    expect(await statusOf(sa.listNamespacedConfigMap({ namespace }))).toBe(403);

    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: 'pod-reader' },
        rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'pod-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'no-role', namespace }],
      },
    });
    // The authorizer's informer sees the binding within a moment.
    await eventually('pods readable', async () =>
      (await statusOf(sa.listNamespacedPod({ namespace }))) === 200 ? true : undefined,
    );
    // The Role grants exactly pods: config maps stay forbidden.
    expect(await statusOf(sa.listNamespacedConfigMap({ namespace }))).toBe(403);
  });

  it('rejects an unauthenticated client (401)', async () => {
    const cluster = kc.getCurrentCluster()!;
    const anon = new KubeConfig();
    anon.loadFromOptions({
      clusters: [{ name: 'c', server: cluster.server, caData: cluster.caData }],
      users: [{ name: 'anon', token: 'not-a-real-token' }],
      contexts: [{ name: 'c', cluster: 'c', user: 'anon' }],
      currentContext: 'c',
    });
    expect(await statusOf(anon.makeApiClient(CoreV1Api).listNamespacedPod({ namespace }))).toBe(
      401,
    );
  });
});
