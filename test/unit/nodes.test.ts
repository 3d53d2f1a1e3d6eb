import { describe, expect, it } from 'vitest';
import {
  buildNodes,
  defaultNodePools,
  gpuResource,
  kwokNodeAnnotation,
  poolLabel,
} from '../../dev/nodes.ts';

describe('fake node pools', () => {
  const nodes = buildNodes(defaultNodePools);
  const byPool = (pool: string) => nodes.filter((n) => n.metadata?.labels?.[poolLabel] === pool);

  it('defaults to 4 H100 nodes of 8 GPUs, labelled as the GPU Operator does', () => {
    const h100 = byPool('gpu-h100');
    expect(h100).toHaveLength(4);
    for (const node of h100) {
      expect(node.status?.allocatable?.[gpuResource]).toBe('8');
      expect(node.metadata?.labels).toMatchObject({
        'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3',
        'nvidia.com/gpu.memory': '81559',
        'nvidia.com/gpu.present': 'true',
      });
    }
  });

  it('adds 2 single-GPU 16 GiB nodes; every GPU node carries the NoSchedule GPU taint', () => {
    const small = byPool('gpu-rtx4090');
    expect(small).toHaveLength(2);
    expect(small.map((n) => n.metadata?.labels?.['nvidia.com/gpu.memory'])).toEqual([
      '16384',
      '16384',
    ]);
    for (const node of [...small, ...byPool('gpu-h100')]) {
      expect(node.spec?.taints).toEqual([
        { key: gpuResource, value: 'present', effect: 'NoSchedule' },
      ]);
    }
  });

  it('keeps one untainted CPU node without GPUs for system pods', () => {
    const [cpu] = byPool('cpu');
    expect(cpu?.spec?.taints).toBeUndefined();
    expect(cpu?.status?.allocatable?.[gpuResource]).toBeUndefined();
  });

  it('marks every node for kwok and names them uniquely, also for hundreds of nodes', () => {
    const many = buildNodes([{ name: 'bench', count: 130, gpusPerNode: 8 }]);
    expect(new Set(many.map((n) => n.metadata?.name)).size).toBe(130);
    expect(many.every((n) => n.metadata?.annotations?.[kwokNodeAnnotation] === 'fake')).toBe(true);
  });
});
