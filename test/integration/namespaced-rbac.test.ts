/**
 * Namespaced mode (deploy/overlays/namespaced) against the real API server: the operator's
 * ServiceAccount may write in the namespace it watches and nowhere else, reads nodes and the
 * dcgm-exporter pods' namespace and nothing more cluster-wide, and the operator started with
 * --watch-namespaces under exactly that RBAC reconciles an object there.
 */
import { AuthorizationV1Api, type V1ResourceAttributes } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  installOperatorManifests,
  kubectl,
  operatorKubeconfig,
  operatorNamespace,
  startOperator,
  type OperatorProcess,
} from '../../dev/operator.ts';
import { createModelVolume } from '../../dev/volumes.ts';
import { withoutRouter } from '../../dev/specs.ts';
import { childNames } from '../../src/operator/api/v1alpha1/names.ts';
import { clients, eventually } from '../support/k8s.ts';
import { baseSpec } from '../support/specs.ts';
import { zidClient } from '../support/zid.ts';

/** The namespaces the overlay names (its watched/ and dcgm-exporter/ folders). */
const watched = 'zimage-workloads';
const exporters = 'gpu-operator';
const user = `system:serviceaccount:${operatorNamespace}:zimage-operator`;

const kubeconfigPath = inject('kubeconfigPath');
const { kc, core, apps } = clients(kubeconfigPath);
const authz = kc.makeApiClient(AuthorizationV1Api);
const zid = zidClient(kc);
const created: string[] = [];
let op: OperatorProcess | undefined;

/** May the operator's ServiceAccount do this? Asked as its token would be (user and groups). */
async function can(attributes: V1ResourceAttributes): Promise<boolean> {
  const review = await authz.createSubjectAccessReview({
    body: {
      spec: {
        user,
        groups: [
          'system:serviceaccounts',
          `system:serviceaccounts:${operatorNamespace}`,
          'system:authenticated',
        ],
        resourceAttributes: attributes,
      },
    },
  });
  return review.status?.allowed ?? false;
}

beforeAll(async () => {
  // The overlay's Roles land in namespaces that exist: a user creates them first.
  for (const name of [watched, exporters]) {
    const exists = await core.readNamespace({ name }).then(
      () => true,
      () => false,
    );
    if (exists) continue;
    await core.createNamespace({ body: { metadata: { name } } });
    created.push(name);
  }
  await createModelVolume(kc, { namespace: watched, name: 'zimage-models' });
  installOperatorManifests(kubeconfigPath, { rbac: 'namespaced' });
});

afterAll(async () => {
  await op?.stop();
  // Back to the cluster-wide install the other files run under.
  kubectl(
    kubeconfigPath,
    'delete',
    '--ignore-not-found',
    'clusterrolebinding',
    'zimage-operator-nodes',
  );
  installOperatorManifests(kubeconfigPath);
  for (const name of created) await core.deleteNamespace({ name });
  await core.deletePersistentVolume({ name: `${watched}-zimage-models` });
});

describe('namespaced RBAC', () => {
  interface Row {
    name: string;
    attributes: V1ResourceAttributes;
    allowed: boolean;
  }
  const row = (attributes: V1ResourceAttributes, allowed: boolean): Row => {
    const { verb, group, resource, subresource, namespace } = attributes;
    const what = [group ? `${resource}.${group}` : resource, subresource].filter(Boolean);
    return {
      name: `${verb} ${what.join('/')} ${namespace ? `in ${namespace}` : 'cluster-wide'}`,
      attributes,
      allowed,
    };
  };
  const childKinds = [
    { group: 'apps', resource: 'deployments' },
    { group: '', resource: 'configmaps' },
    { group: '', resource: 'services' },
    { group: '', resource: 'serviceaccounts' },
    { group: 'rbac.authorization.k8s.io', resource: 'rolebindings' },
  ];
  const status = { group: 'zimage.dev', resource: 'zimagedeployments', subresource: 'status' };
  const rows: Row[] = [
    ...childKinds.flatMap((kind) => [
      row({ ...kind, verb: 'create', namespace: watched }, true),
      row({ ...kind, verb: 'delete', namespace: watched }, true),
      ...['default', 'kube-system'].flatMap((namespace) => [
        row({ ...kind, verb: 'create', namespace }, false),
        row({ ...kind, verb: 'delete', namespace }, false),
      ]),
    ]),
    row({ ...status, verb: 'update', namespace: watched }, true),
    row({ ...status, verb: 'update', namespace: 'default' }, false),
    row({ group: 'zimage.dev', resource: 'zimagedeployments', verb: 'list' }, false),
    // The cluster-scoped reads: pods only where the dcgm-exporters run, nodes everywhere.
    row({ resource: 'pods', verb: 'list' }, false),
    row({ resource: 'pods', verb: 'list', namespace: exporters }, true),
    row({ resource: 'pods', verb: 'get', namespace: exporters }, false),
    row({ resource: 'nodes', verb: 'list' }, true),
    row({ resource: 'nodes', verb: 'patch' }, false),
    row({ resource: 'secrets', verb: 'get', namespace: watched }, false),
    row({ resource: 'events', verb: 'create', namespace: watched }, true),
    row({ resource: 'events', verb: 'create', namespace: 'kube-system' }, false),
    row(
      {
        group: 'coordination.k8s.io',
        resource: 'leases',
        verb: 'update',
        namespace: operatorNamespace,
      },
      true,
    ),
  ];

  it.each(rows)('$name: $allowed', async ({ attributes, allowed }) => {
    expect(await can(attributes)).toBe(allowed);
  });

  it('runs the operator with --watch-namespaces under it: the watched object reconciles', async () => {
    op = await startOperator(await operatorKubeconfig(kubeconfigPath), {
      args: [`--watch-namespaces=${watched}`, `--dcgm-exporter-namespaces=${exporters}`],
    });
    await zid.create(watched, 'turbo', withoutRouter(baseSpec()));
    await eventually('the Deployment of the watched object', () =>
      apps.readNamespacedDeployment({ namespace: watched, name: childNames('turbo').deployment }),
    );
    // No 403 anywhere: every list and watch it started is one its Roles allow.
    expect(op.logs()).not.toMatch(/forbidden/i);
    await zid.delete(watched, 'turbo');
  });
});
