/**
 * What the signals read from Kubernetes objects: pods Pending for a GPU (scheduler messages
 * as kube-scheduler writes them), dcgm-exporter pods (port, collection interval), and the
 * exporter list's refresh on the fake clock.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { exporterFromPod } from '../../src/operator/signals/direct/dcgm.ts';
import { exporterLister } from '../../src/operator/signals/direct/exporters.ts';
import { countPendingForGpu, pendingForGpu } from '../../src/operator/autoscaling/pending.ts';
import { podRefOf } from '../../src/operator/autoscaling/pod-ref.ts';
import { FakeClock } from '../support/fake-clock.ts';

function pending(reason: string, message: string, extra: Partial<V1Pod> = {}): V1Pod {
  return {
    metadata: { name: 'turbo-7d9f8c6b5-x2k4q', namespace: 'ml' },
    status: {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'False', reason, message }],
    },
    ...extra,
  };
}

describe('pods Pending for a GPU', () => {
  it.each([
    {
      name: 'Insufficient nvidia.com/gpu on every node',
      pod: pending(
        'Unschedulable',
        '0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.',
      ),
      want: true,
    },
    {
      name: 'GPUs short on some nodes, a taint on others',
      pod: pending(
        'Unschedulable',
        '0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 3 Insufficient nvidia.com/gpu.',
      ),
      want: true,
    },
    {
      name: 'a node selector, not a GPU: another GPU would not place it',
      pod: pending(
        'Unschedulable',
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
      ),
      want: false,
    },
    {
      name: 'another extended resource with the GPU name as a prefix',
      pod: pending(
        'Unschedulable',
        '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.shared.',
      ),
      want: false,
    },
    {
      name: 'scheduling gated, not unschedulable',
      pod: pending('SchedulingGated', 'Scheduling is blocked due to non-empty scheduling gates'),
      want: false,
    },
    {
      name: 'scheduled, pulling its image',
      pod: { status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] } },
      want: false,
    },
    {
      name: 'being deleted',
      pod: pending('Unschedulable', '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.', {
        metadata: { name: 'x', deletionTimestamp: new Date(0) },
      }),
      want: false,
    },
    { name: 'running', pod: { status: { phase: 'Running' } }, want: false },
  ])('$name: $want', ({ pod, want }) => {
    expect(pendingForGpu(pod)).toBe(want);
  });

  it('counts by the object’s GPU resource', () => {
    const amd = pending('Unschedulable', '0/2 nodes are available: 2 Insufficient amd.com/gpu.');
    const nvidia = pending(
      'Unschedulable',
      '0/2 nodes are available: 2 Insufficient nvidia.com/gpu.',
    );
    expect(countPendingForGpu([amd, nvidia, nvidia])).toBe(2);
    expect(countPendingForGpu([amd, nvidia], 'amd.com/gpu')).toBe(1);
  });
});

function exporterPod(
  container: NonNullable<V1Pod['spec']>['containers'][number],
  phase = 'Running',
): V1Pod {
  return {
    metadata: { name: 'nvidia-dcgm-exporter-7xk2p', namespace: 'gpu-operator' },
    spec: { nodeName: 'gpu-node-1', containers: [container] },
    status: { phase, podIP: '10.0.3.7' },
  };
}

describe('dcgm-exporter pods', () => {
  it.each([
    { name: 'defaults: port 9400, 30 s', c: { name: 'exporter' }, port: 9400, interval: 30_000 },
    {
      name: 'the port named metrics',
      c: { name: 'e', ports: [{ name: 'metrics', containerPort: 9500 }] },
      port: 9500,
      interval: 30_000,
    },
    {
      name: '-c 1000',
      c: { name: 'e', args: ['-f', '/etc/dcgm/counters.csv', '-c', '1000'] },
      port: 9400,
      interval: 1000,
    },
    {
      name: '--collect-interval=500',
      c: { name: 'e', args: ['--collect-interval=500'] },
      port: 9400,
      interval: 500,
    },
    {
      name: 'DCGM_EXPORTER_INTERVAL',
      c: { name: 'e', env: [{ name: 'DCGM_EXPORTER_INTERVAL', value: '5000' }] },
      port: 9400,
      interval: 5000,
    },
  ])('$name', ({ c, port, interval }) => {
    expect(exporterFromPod(exporterPod(c))).toEqual({
      namespace: 'gpu-operator',
      name: 'nvidia-dcgm-exporter-7xk2p',
      ip: '10.0.3.7',
      port,
      nodeName: 'gpu-node-1',
      collectIntervalMs: interval,
    });
  });

  it('a pod not Running (or without an IP) is not scraped', () => {
    expect(exporterFromPod(exporterPod({ name: 'e' }, 'Pending'))).toBeUndefined();
  });

  it('the list: the selector, refreshed after its TTL; a failed refresh keeps the last good list', async () => {
    const clock = new FakeClock();
    const selectors: string[] = [];
    let fail = false;
    const list = exporterLister({
      clock,
      ttlMs: 30_000,
      selector: 'app=nvidia-dcgm-exporter',
      list: (s) => {
        selectors.push(s);
        return fail
          ? Promise.reject(new Error('etcd leader changed'))
          : Promise.resolve({ items: [exporterPod({ name: 'e' })] });
      },
    });
    expect(await list()).toHaveLength(1);
    await clock.advance(29_999);
    await list();
    expect(selectors).toEqual(['app=nvidia-dcgm-exporter']);
    await clock.advance(1);
    fail = true;
    expect(await list()).toHaveLength(1);
    expect(selectors).toHaveLength(2);
    // The retry waits 5 s, not a full TTL, and not every tick either.
    await clock.advance(4_999);
    await list();
    expect(selectors).toHaveLength(2);
    await clock.advance(1);
    await list();
    expect(selectors).toHaveLength(3);
  });

  it('the first list failing is an error naming the selector', async () => {
    const list = exporterLister({
      clock: new FakeClock(),
      list: () => Promise.reject(new Error('forbidden')),
    });
    await expect(list()).rejects.toThrow(/app=nvidia-dcgm-exporter/);
  });
});

describe('runtime pods to scrape', () => {
  const running: V1Pod = {
    metadata: { name: 'turbo-7d9f8c6b5-x2k4q', namespace: 'ml' },
    spec: {
      nodeName: 'gpu-node-1',
      containers: [{ name: 'runtime', ports: [{ name: 'http', containerPort: 9090 }] }],
    },
    status: { phase: 'Running', podIP: '10.0.1.4' },
  };
  it.each([
    {
      name: 'Running with an IP: its http port and node',
      pod: running,
      want: {
        namespace: 'ml',
        name: 'turbo-7d9f8c6b5-x2k4q',
        ip: '10.0.1.4',
        port: 9090,
        nodeName: 'gpu-node-1',
      },
    },
    {
      name: 'no port named http: the runtime’s 8080',
      pod: { ...running, spec: { containers: [{ name: 'runtime' }] } },
      want: { namespace: 'ml', name: 'turbo-7d9f8c6b5-x2k4q', ip: '10.0.1.4', port: 8080 },
    },
    {
      name: 'Pending: not scraped',
      pod: { ...running, status: { phase: 'Pending' } },
      want: undefined,
    },
    {
      name: 'deleting: not scraped',
      pod: { ...running, metadata: { ...running.metadata, deletionTimestamp: new Date(0) } },
      want: undefined,
    },
  ])('$name', ({ pod, want }) => {
    expect(podRefOf(pod)).toEqual(want);
  });
});
