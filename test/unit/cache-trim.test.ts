/**
 * What the informer caches keep of each kind (src/operator/k8s/cached.ts): objects shaped as
 * the API server returns them (managedFields of several managers, server defaults, status)
 * in, the trimmed copy out.
 */
import type {
  KubernetesObject,
  V1Deployment,
  V1Node,
  V1PersistentVolumeClaim,
  V1Pod,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  trimClaim,
  trimCustomResource,
  trimNode,
  trimPod,
  withoutManagedFields,
} from '../../src/operator/k8s/cached.ts';

const managedFields = [
  {
    manager: 'kube-controller-manager',
    operation: 'Update',
    apiVersion: 'v1',
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app.kubernetes.io/instance': {} } } },
  },
  {
    manager: 'kwok',
    operation: 'Update',
    subresource: 'status',
    apiVersion: 'v1',
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:status': { 'f:phase': {}, 'f:podIP': {} } },
  },
];

const labels = {
  'app.kubernetes.io/instance': 'turbo',
  'app.kubernetes.io/managed-by': 'zimage-operator',
  'pod-template-hash': '5d9c7b8f4',
};

const runningPod: V1Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'turbo-5d9c7b8f4-x2k8p',
    generateName: 'turbo-5d9c7b8f4-',
    namespace: 'ml',
    uid: '3f0c2a4e-8b1d-4c53-9e2f-6a7b8c9d0e1f',
    resourceVersion: '48213',
    creationTimestamp: new Date('2026-01-01T00:00:00Z'),
    labels,
    ownerReferences: [
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: 'turbo-5d9c7b8f4',
        uid: '9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d',
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
    managedFields,
  },
  spec: {
    nodeName: 'gpu-3',
    serviceAccountName: 'turbo-runtime',
    volumes: [{ name: 'models', persistentVolumeClaim: { claimName: 'zimage-models' } }],
    tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
    containers: [
      {
        name: 'runtime',
        image: 'ghcr.io/zimage/runtime:0.4.0',
        ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
        env: [{ name: 'ZIMAGE_CONFIG', value: '/etc/zimage/config.json' }],
        resources: { limits: { 'nvidia.com/gpu': '1' }, requests: { cpu: '2', memory: '16Gi' } },
        readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5 },
        terminationMessagePath: '/dev/termination-log',
        imagePullPolicy: 'IfNotPresent',
      },
    ],
  },
  status: {
    phase: 'Running',
    podIP: '10.244.3.17',
    hostIP: '172.18.0.5',
    qosClass: 'Burstable',
    startTime: new Date('2026-01-01T00:00:02Z'),
    conditions: [
      { type: 'PodScheduled', status: 'True' },
      { type: 'Ready', status: 'True' },
    ],
    containerStatuses: [
      {
        name: 'runtime',
        ready: true,
        restartCount: 0,
        image: 'ghcr.io/zimage/runtime:0.4.0',
        imageID: 'ghcr.io/zimage/runtime@sha256:0f1e2d3c',
        state: { running: { startedAt: new Date('2026-01-01T00:00:05Z') } },
      },
    ],
  },
};

const pendingPod: V1Pod = {
  metadata: {
    name: 'turbo-5d9c7b8f4-q7w4z',
    namespace: 'ml',
    resourceVersion: '48214',
    labels,
    deletionTimestamp: new Date('2026-01-01T00:01:00Z'),
    managedFields,
  },
  spec: { containers: [{ name: 'runtime', image: 'ghcr.io/zimage/runtime:0.4.0' }] },
  status: {
    phase: 'Pending',
    conditions: [
      {
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message: '0/7 nodes are available: 7 Insufficient nvidia.com/gpu.',
      },
    ],
  },
};

const node: V1Node = {
  metadata: {
    name: 'gpu-3',
    resourceVersion: '512',
    labels: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
    annotations: { 'kwok.x-k8s.io/node': 'fake' },
    managedFields,
  },
  spec: { taints: [{ key: 'nvidia.com/gpu', effect: 'NoSchedule' }] },
  status: {
    allocatable: { cpu: '32', memory: '256Gi', 'nvidia.com/gpu': '8' },
    capacity: { cpu: '32', memory: '256Gi', 'nvidia.com/gpu': '8' },
    conditions: [{ type: 'Ready', status: 'True' }],
    nodeInfo: {
      architecture: 'amd64',
      bootID: '',
      containerRuntimeVersion: 'kwok',
      kernelVersion: '',
      kubeProxyVersion: '',
      kubeletVersion: 'fake',
      machineID: '',
      operatingSystem: 'linux',
      osImage: '',
      systemUUID: '',
    },
  },
};

const claim: V1PersistentVolumeClaim = {
  metadata: {
    name: 'zimage-models',
    namespace: 'ml',
    resourceVersion: '77',
    annotations: { 'pv.kubernetes.io/bind-completed': 'yes' },
    finalizers: ['kubernetes.io/pvc-protection'],
    managedFields,
  },
  spec: {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: '40Gi' } },
    volumeName: 'pv-models',
    storageClassName: 'standard',
  },
  status: { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '40Gi' } },
};

const deployment: V1Deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'turbo',
    namespace: 'ml',
    resourceVersion: '48100',
    generation: 2,
    labels,
    annotations: { 'deployment.kubernetes.io/revision': '2' },
    managedFields,
  },
  spec: {
    replicas: 1,
    selector: { matchLabels: { 'app.kubernetes.io/instance': 'turbo' } },
    template: { metadata: { labels }, spec: runningPod.spec! },
  },
  status: { replicas: 1, readyReplicas: 1, updatedReplicas: 1, observedGeneration: 2 },
};

const zimageDeployment: KubernetesObject & { spec: object; status: object } = {
  apiVersion: 'zimage.dev/v1alpha1',
  kind: 'ZImageDeployment',
  metadata: {
    name: 'turbo',
    namespace: 'ml',
    uid: 'c0ffee00-0000-4000-8000-000000000001',
    resourceVersion: '48300',
    generation: 3,
    annotations: {
      'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"zimage.dev/v1alpha1"}',
      'team.example.com/owner': 'imaging',
    },
    managedFields,
  },
  spec: { replicas: 1 },
  status: { observedGeneration: 3 },
};

describe('informer cache trims', () => {
  it.each([
    {
      name: 'a running pod keeps what the reconciler and the direct source read',
      trim: () => trimPod(runningPod),
      want: {
        metadata: {
          name: 'turbo-5d9c7b8f4-x2k8p',
          namespace: 'ml',
          resourceVersion: '48213',
          labels,
        },
        spec: {
          nodeName: 'gpu-3',
          containers: [
            { name: 'runtime', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] },
          ],
        },
        status: {
          phase: 'Running',
          podIP: '10.244.3.17',
          conditions: [
            { type: 'PodScheduled', status: 'True' },
            { type: 'Ready', status: 'True' },
          ],
        },
      },
    },
    {
      name: 'a terminating unschedulable pod keeps its deletion time and the scheduler message',
      trim: () => trimPod(pendingPod),
      want: {
        metadata: {
          name: 'turbo-5d9c7b8f4-q7w4z',
          namespace: 'ml',
          resourceVersion: '48214',
          labels,
          deletionTimestamp: new Date('2026-01-01T00:01:00Z'),
        },
        spec: { containers: [{ name: 'runtime' }] },
        status: pendingPod.status,
      },
    },
    {
      name: 'a pod as a DELETED event may carry it: metadata only',
      trim: () => trimPod({ metadata: { name: 'p', namespace: 'ml', resourceVersion: '9' } }),
      want: { metadata: { name: 'p', namespace: 'ml', resourceVersion: '9' } },
    },
    {
      name: 'a node keeps its allocatable resources only',
      trim: () => trimNode(node),
      want: {
        metadata: { name: 'gpu-3', resourceVersion: '512' },
        status: { allocatable: { cpu: '32', memory: '256Gi', 'nvidia.com/gpu': '8' } },
      },
    },
    {
      name: 'a claim keeps its access modes',
      trim: () => trimClaim(claim),
      want: {
        metadata: { name: 'zimage-models', namespace: 'ml', resourceVersion: '77' },
        spec: { accessModes: ['ReadWriteOnce'] },
        status: { accessModes: ['ReadWriteOnce'] },
      },
    },
    {
      name: 'a child keeps everything the applier compares, and its status',
      trim: () => withoutManagedFields(deployment),
      want: { ...deployment, metadata: { ...deployment.metadata, managedFields: undefined } },
    },
    {
      name: 'a ZImageDeployment loses kubectl’s copy of its spec, keeps other annotations',
      trim: () => trimCustomResource(zimageDeployment),
      want: {
        ...zimageDeployment,
        metadata: {
          ...zimageDeployment.metadata,
          managedFields: undefined,
          annotations: { 'team.example.com/owner': 'imaging' },
        },
      },
    },
  ])('$name', ({ trim, want }) => {
    const out = trim();
    // Through JSON, as the cache's contents would be written out: a Date and its string
    // compare equal, a key set to undefined counts as absent.
    expect(JSON.parse(JSON.stringify(out))).toStrictEqual(JSON.parse(JSON.stringify(want)));
    expect(JSON.stringify(out)).not.toContain('managedFields');
  });

  it('leaves an object without managedFields as it is (no copy)', () => {
    const bare = { ...deployment, metadata: { name: 'turbo', namespace: 'ml' } };
    expect(withoutManagedFields(bare)).toBe(bare);
    expect(trimCustomResource(bare)).toBe(bare);
  });

  it('leaves the informer’s input untouched (the library may still hold it)', () => {
    const before = structuredClone(runningPod);
    trimPod(runningPod);
    withoutManagedFields(deployment);
    expect(runningPod).toStrictEqual(before);
    expect(deployment.metadata?.managedFields).toBe(managedFields);
  });
});
