/**
 * Writes the operator's token could make under its RBAC alone and its own reconcile never
 * makes, each with the words of deploy/base/admission-policy.yaml that refuse it. One table,
 * run against the real API server by admission-policy.test.ts. Every write is a server-side
 * dry run: without the policy nothing changes either.
 */
import {
  PatchStrategy,
  type KubernetesObject,
  type KubernetesObjectApi,
  type V1Container,
  type V1Volume,
} from '@kubernetes/client-node';
import { fieldManager } from '../../src/operator/api/v1alpha1/names.ts';

export interface HostileWrite {
  name: string;
  /** The write, as the operator's ServiceAccount; `namespace` is the test's own. */
  write: (api: KubernetesObjectApi, namespace: string) => Promise<unknown>;
  /** The policy's message, as the API server returns it to the caller. */
  refusal: (namespace: string) => string;
}

/** What an attacker adds to pass the ownership rules: the label and a made-up owner. */
export function owned(name: string, namespace: string, owner = 'x') {
  return {
    name,
    namespace,
    labels: { 'app.kubernetes.io/managed-by': 'zimage-operator' },
    ownerReferences: [
      {
        apiVersion: 'zimage.dev/v1alpha1',
        kind: 'ZImageDeployment',
        name: owner,
        uid: '00000000-0000-0000-0000-000000000001',
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  };
}

interface PodShape {
  serviceAccountName?: string;
  volumes?: V1Volume[];
  containers?: V1Container[];
  initContainers?: V1Container[];
  hostNetwork?: boolean;
  hostPID?: boolean;
}

function deployment(metadata: KubernetesObject['metadata'], pod: PodShape): KubernetesObject {
  const labels = { app: 'escalate' };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'c', image: 'busybox' }], ...pod },
      },
    },
  } as KubernetesObject;
}

/** The attack: kube-system, a controller's ServiceAccount, any Secret mounted. */
const secretVolume: V1Volume = { name: 'token', secret: { secretName: 'any-secret' } };
const attack: PodShape = {
  serviceAccountName: 'clusterrole-aggregation-controller',
  volumes: [secretVolume],
};

/** As the operator's own pods run: its ServiceAccount for owner x, the emptyDir it uses. */
const ownPod = (extra: PodShape): PodShape => ({
  serviceAccountName: 'x-runtime',
  ...extra,
  volumes: [{ name: 'tmp', emptyDir: {} }, ...(extra.volumes ?? [])],
});

const create = (obj: KubernetesObject) => (api: KubernetesObjectApi) =>
  api.create(obj, undefined, 'All');

const service = (namespace: string, name: string, spec: Record<string, unknown>) =>
  ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: owned(name, namespace),
    spec: { selector: { app: 'x' }, ports: [{ port: 80 }], ...spec },
  }) as KubernetesObject;

const role = (namespace: string, rules: unknown[]) =>
  ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: owned('x-runtime-config', namespace),
    rules,
  }) as KubernetesObject;

const policyMessage = (kind: string, what: string, words: string) =>
  `${kind} "${what}" is forbidden: ValidatingAdmissionPolicy 'zimage-operator-writes' with binding 'zimage-operator-writes' denied request: ${words}`;

/** The ConfigMap someone else created, which the take-over row targets. */
export const theirs = 'someone-elses';

/** The name the table's Deployments carry. */
const escalate = 'escalate';

export const hostileWrites: HostileWrite[] = [
  {
    name: 'the kube-system attack: a Deployment as clusterrole-aggregation-controller with a Secret',
    write: create(deployment({ name: escalate, namespace: 'kube-system' }, attack)),
    refusal: () =>
      policyMessage(
        'deployments.apps',
        escalate,
        'zimage-operator may create only objects labelled app.kubernetes.io/managed-by=zimage-operator; Deployment kube-system/escalate is not',
      ),
  },
  {
    name: 'the same attack, labelled and owned by a made-up ZImageDeployment',
    write: create(deployment(owned(escalate, 'kube-system'), attack)),
    refusal: () =>
      policyMessage(
        'deployments.apps',
        escalate,
        'zimage-operator runs pods only as the ServiceAccount it creates for their ZImageDeployment (x-runtime or x-router); Deployment kube-system/escalate asks for clusterrole-aggregation-controller',
      ),
  },
  {
    name: 'the same attack, running as the made-up owner’s ServiceAccount',
    write: create(deployment(owned(escalate, 'kube-system'), ownPod({ volumes: [secretVolume] }))),
    refusal: () =>
      policyMessage(
        'deployments.apps',
        escalate,
        'zimage-operator mounts no Secret but the one of its ZImageDeployment, x-auth (spec.auth, as volume auth); Deployment kube-system/escalate mounts token',
      ),
  },
  {
    name: 'a Secret in a projected volume',
    write: (api, ns) =>
      create(
        deployment(
          owned(escalate, ns),
          ownPod({
            volumes: [
              { name: 'bundle', projected: { sources: [{ secret: { name: 'any-secret' } }] } },
            ],
          }),
        ),
      )(api),
    refusal: (ns) =>
      policyMessage(
        'deployments.apps',
        escalate,
        `zimage-operator mounts no Secret but the one of its ZImageDeployment, x-auth (spec.auth, as volume auth); Deployment ${ns}/escalate mounts bundle`,
      ),
  },
  {
    name: "another Secret under spec.auth's volume name",
    write: (api, ns) =>
      create(
        deployment(
          owned(escalate, ns),
          ownPod({ volumes: [{ name: 'auth', secret: { secretName: 'other-auth' } }] }),
        ),
      )(api),
    refusal: (ns) =>
      policyMessage(
        'deployments.apps',
        escalate,
        `zimage-operator mounts no Secret but the one of its ZImageDeployment, x-auth (spec.auth, as volume auth); Deployment ${ns}/escalate mounts auth`,
      ),
  },
  {
    name: 'a hostPath volume',
    write: (api, ns) =>
      create(
        deployment(
          owned(escalate, ns),
          ownPod({ volumes: [{ name: 'root', hostPath: { path: '/' } }] }),
        ),
      )(api),
    refusal: (ns) =>
      policyMessage(
        'deployments.apps',
        escalate,
        `zimage-operator mounts no hostPath volume; Deployment ${ns}/escalate has root`,
      ),
  },
  {
    name: 'an NFS volume (only claims and emptyDirs are mounted)',
    write: (api, ns) =>
      create(
        deployment(
          owned(escalate, ns),
          ownPod({ volumes: [{ name: 'shared', nfs: { server: 'nfs.example', path: '/' } }] }),
        ),
      )(api),
    refusal: (ns) =>
      policyMessage(
        'deployments.apps',
        escalate,
        `zimage-operator mounts only persistentVolumeClaim and emptyDir volumes; Deployment ${ns}/escalate mounts shared`,
      ),
  },
  ...(['hostNetwork', 'hostPID'] as const).map((field): HostileWrite => ({
    name: `a pod in the node’s namespaces (${field})`,
    write: (api, ns) => create(deployment(owned(escalate, ns), ownPod({ [field]: true })))(api),
    refusal: (ns) =>
      policyMessage(
        'deployments.apps',
        escalate,
        `zimage-operator runs no pod in the network, PID or IPC namespace of its node; Deployment ${ns}/escalate asks for hostNetwork, hostPID or hostIPC`,
      ),
  })),
  {
    name: 'a privileged init container',
    write: (api, ns) =>
      create(
        deployment(
          owned(escalate, ns),
          ownPod({
            initContainers: [
              { name: 'setup', image: 'busybox', securityContext: { privileged: true } },
            ],
          }),
        ),
      )(api),
    refusal: (ns) =>
      policyMessage(
        'deployments.apps',
        escalate,
        `zimage-operator runs no privileged container and adds no capability; Deployment ${ns}/escalate does in setup`,
      ),
  },
  {
    name: 'a container adding SYS_ADMIN',
    write: (api, ns) =>
      create(
        deployment(
          owned(escalate, ns),
          ownPod({
            containers: [
              {
                name: 'c',
                image: 'busybox',
                securityContext: { capabilities: { add: ['SYS_ADMIN'] } },
              },
            ],
          }),
        ),
      )(api),
    refusal: (ns) =>
      policyMessage(
        'deployments.apps',
        escalate,
        `zimage-operator runs no privileged container and adds no capability; Deployment ${ns}/escalate does in c`,
      ),
  },
  {
    name: 'an unlabelled Service',
    write: (api, ns) =>
      create({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'plain', namespace: ns },
        spec: { selector: { app: 'x' }, ports: [{ port: 80 }] },
      } as KubernetesObject)(api),
    refusal: (ns) =>
      policyMessage(
        'services',
        'plain',
        `zimage-operator may create only objects labelled app.kubernetes.io/managed-by=zimage-operator; Service ${ns}/plain is not`,
      ),
  },
  {
    name: 'a labelled Service no ZImageDeployment controls',
    write: (api, ns) =>
      create({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { ...owned('orphan', ns), ownerReferences: [] },
        spec: { selector: { app: 'x' }, ports: [{ port: 80 }] },
      } as KubernetesObject)(api),
    refusal: (ns) =>
      policyMessage(
        'services',
        'orphan',
        `zimage-operator may create only objects a ZImageDeployment of their namespace controls (an ownerReference with kind ZImageDeployment, apiVersion zimage.dev/*, controller true); Service ${ns}/orphan has none`,
      ),
  },
  {
    name: 'a LoadBalancer Service',
    write: (api, ns) => create(service(ns, 'exposed', { type: 'LoadBalancer' }))(api),
    refusal: (ns) =>
      policyMessage(
        'services',
        'exposed',
        `zimage-operator creates only ClusterIP Services without externalIPs; Service ${ns}/exposed is LoadBalancer`,
      ),
  },
  {
    name: 'a Service with externalIPs (CVE-2020-8554)',
    write: (api, ns) => create(service(ns, 'intercept', { externalIPs: ['203.0.113.7'] }))(api),
    refusal: (ns) =>
      policyMessage(
        'services',
        'intercept',
        `zimage-operator creates only ClusterIP Services without externalIPs; Service ${ns}/intercept is ClusterIP with externalIPs`,
      ),
  },
  {
    name: 'deleting a ConfigMap it does not own (kube-system/kube-root-ca.crt)',
    write: (api) =>
      api.delete(
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'kube-root-ca.crt', namespace: 'kube-system' },
        },
        undefined,
        'All',
      ),
    refusal: () =>
      policyMessage(
        'configmaps',
        'kube-root-ca.crt',
        'zimage-operator may delete only objects labelled app.kubernetes.io/managed-by=zimage-operator; ConfigMap kube-system/kube-root-ca.crt is not',
      ),
  },
  {
    name: 'taking a ConfigMap over by applying its label and an owner',
    write: (api, ns) =>
      api.patch(
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: owned(theirs, ns) },
        undefined,
        'All',
        fieldManager,
        true,
        PatchStrategy.ServerSideApply,
      ),
    refusal: (ns) =>
      policyMessage(
        'configmaps',
        theirs,
        `zimage-operator may change only objects it created: the stored ConfigMap ${ns}/${theirs} lacks its managed-by label or its ZImageDeployment controller x`,
      ),
  },
  {
    name: 'binding its own ClusterRole to a ServiceAccount of the namespace',
    write: (api, ns) =>
      create({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: owned('x-runtime-config', ns),
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'zimage-operator',
        },
        subjects: [{ kind: 'ServiceAccount', name: 'x-runtime', namespace: ns }],
      } as KubernetesObject)(api),
    refusal: (ns) =>
      policyMessage(
        'rolebindings.rbac.authorization.k8s.io',
        'x-runtime-config',
        `zimage-operator binds only its own Roles (x-runtime-config, x-router), never a ClusterRole, to its own ServiceAccounts (x-runtime, x-router) of the same namespace; RoleBinding ${ns}/x-runtime-config binds ClusterRole zimage-operator`,
      ),
  },
  ...[
    {
      what: 'create on ConfigMaps',
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['create'] }],
    },
    {
      what: 'reading every ConfigMap',
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
    },
  ].map(({ what, rules }): HostileWrite => ({
    name: `a Role granting ${what}`,
    write: (api, ns) => create(role(ns, rules))(api),
    refusal: (ns) =>
      policyMessage(
        'roles.rbac.authorization.k8s.io',
        'x-runtime-config',
        `Roles of zimage-operator grant only get, list and watch on pods and on the ConfigMap of their ZImageDeployment (x-runtime); Role ${ns}/x-runtime-config grants more`,
      ),
  })),
];
