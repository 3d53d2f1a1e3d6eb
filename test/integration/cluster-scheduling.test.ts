import type { V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { gpuResource, podRunnerAnnotation, poolLabel } from '../../dev/nodes.ts';
import {
  clients,
  createNamespace,
  eventsFor,
  eventually,
  isReady,
  podsOf,
} from '../support/k8s.ts';

const { core, apps } = clients(inject('kubeconfigPath'));
let namespace: string;

function gpuDeployment(
  name: string,
  gpus: number,
  options: {
    replicas?: number;
    nodeSelector?: Record<string, string>;
    annotations?: Record<string, string>;
  } = {},
): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas: options.replicas ?? 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: options.annotations ?? {} },
        spec: {
          ...(options.nodeSelector ? { nodeSelector: options.nodeSelector } : {}),
          containers: [
            {
              name: 'main',
              image: 'example.invalid/none:0',
              resources: { limits: { [gpuResource]: String(gpus) } },
            },
          ],
        },
      },
    },
  };
}

beforeAll(async () => {
  namespace = await createNamespace(core, 'sched');
});
afterAll(async () => {
  await core.deleteNamespace({ name: namespace });
});

describe('GPU scheduling on fake nodes', () => {
  it('schedules a 1-GPU Deployment onto GPU nodes; its pods run Ready with loopback IPs', async () => {
    await apps.createNamespacedDeployment({
      namespace,
      body: gpuDeployment('one-gpu', 1, { replicas: 2 }),
    });
    const pods = await eventually('2 Ready pods', async () => {
      const list = await podsOf(core, namespace, 'one-gpu');
      return list.length === 2 && list.every(isReady) ? list : undefined;
    });
    for (const pod of pods) {
      expect(pod.status?.phase).toBe('Running');
      expect(pod.spec?.nodeName).toMatch(/^gpu-/);
      // Never a private range: nothing listens there and no test may send traffic to one.
      expect(pod.status?.podIP).toMatch(/^127\.1\./);
      // ExtendedResourceToleration admission adds the GPU taint's toleration.
      expect(pod.spec?.tolerations?.some((t) => t.key === gpuResource)).toBe(true);
    }
    const deployment = await eventually('deployment available', async () => {
      const d = await apps.readNamespacedDeployment({ name: 'one-gpu', namespace });
      return d.status?.availableReplicas === 2 ? d : undefined;
    });
    expect(deployment.status?.readyReplicas).toBe(2);
  });

  it('lands on the 16 GiB pool when the node selector asks for it', async () => {
    await apps.createNamespacedDeployment({
      namespace,
      body: gpuDeployment('small-card', 1, { nodeSelector: { 'nvidia.com/gpu.memory': '16384' } }),
    });
    // 90 s: on a loaded 2-core host (the whole suite at once) 30 s ran out once.
    const [pod] = await eventually(
      'a Ready pod',
      async () => {
        const list = await podsOf(core, namespace, 'small-card');
        return list.length === 1 && list.every(isReady) ? list : undefined;
      },
      90_000,
    );
    const node = await core.readNode({ name: pod!.spec!.nodeName! });
    expect(node.metadata?.labels?.[poolLabel]).toBe('gpu-rtx4090');
  });

  it('leaves a pod asking for more GPUs than any node has Pending, with an Insufficient event', async () => {
    await apps.createNamespacedDeployment({ namespace, body: gpuDeployment('too-big', 9) });
    const [pod] = await eventually('the pod', async () => {
      const list = await podsOf(core, namespace, 'too-big');
      return list.length === 1 ? list : undefined;
    });
    const event = await eventually('a FailedScheduling event', async () =>
      (await eventsFor(core, namespace, pod!.metadata!.name!)).find(
        (e) => e.reason === 'FailedScheduling',
      ),
    );
    expect(event.message).toContain(`Insufficient ${gpuResource}`);
    const again = await core.readNamespacedPod({ name: pod!.metadata!.name!, namespace });
    expect(again.status?.phase).toBe('Pending');
    expect(again.spec?.nodeName).toBeUndefined();
  });

  it('leaves pods annotated for the pod runner scheduled but not Ready', async () => {
    await apps.createNamespacedDeployment({
      namespace,
      body: gpuDeployment('runner-owned', 1, { annotations: { [podRunnerAnnotation]: 'true' } }),
    });
    const [pod] = await eventually('a scheduled pod', async () => {
      const list = await podsOf(core, namespace, 'runner-owned');
      return list.length === 1 && list[0]!.spec?.nodeName ? list : undefined;
    });
    // The positive signal that kwok has handled this node's pods: a control pod without the
    // annotation, bound to the same node after ours, turns Ready (kwok marks a pod Running within
    // ~1 s of seeing it bound). Ours was bound first, so by then kwok has seen it and left it alone.
    const nodeName = pod!.spec!.nodeName!;
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'runner-control', labels: { app: 'runner-control' } },
        spec: { nodeName, containers: [{ name: 'main', image: 'example.invalid/none:0' }] },
      },
    });
    const [control] = await eventually('the control pod Ready on the same node', async () => {
      const list = await podsOf(core, namespace, 'runner-control');
      return list.length === 1 && list.every(isReady) ? list : undefined;
    });
    expect(control!.spec?.nodeName).toBe(nodeName);
    const again = await core.readNamespacedPod({ name: pod!.metadata!.name!, namespace });
    expect(again.spec?.nodeName).toBe(nodeName);
    expect(again.status?.phase).toBe('Pending');
    expect(isReady(again)).toBe(false);
  });

  it('garbage-collects the ReplicaSet and pods when the Deployment is deleted', async () => {
    await apps.createNamespacedDeployment({
      namespace,
      body: gpuDeployment('short-lived', 1, { replicas: 2 }),
    });
    await eventually('2 Ready pods', async () => {
      const list = await podsOf(core, namespace, 'short-lived');
      return list.length === 2 && list.every(isReady) ? list : undefined;
    });
    const replicaSets = await apps.listNamespacedReplicaSet({
      namespace,
      labelSelector: 'app=short-lived',
    });
    expect(replicaSets.items).toHaveLength(1);
    expect(replicaSets.items[0]!.metadata?.ownerReferences?.[0]?.kind).toBe('Deployment');

    await apps.deleteNamespacedDeployment({
      name: 'short-lived',
      namespace,
      body: { propagationPolicy: 'Background' },
    });
    await eventually('ReplicaSet and pods gone', async () => {
      const rs = await apps.listNamespacedReplicaSet({
        namespace,
        labelSelector: 'app=short-lived',
      });
      const pods = await podsOf(core, namespace, 'short-lived');
      return rs.items.length === 0 && pods.length === 0 ? true : undefined;
    });
  });
});
