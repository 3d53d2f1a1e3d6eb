import type { V1Node } from '@kubernetes/client-node';
import { nvidiaGpuResource, podRunnerAnnotation } from '../src/contract/labels.ts';

export { podRunnerAnnotation };

/** One pool of identical fake nodes. */
export interface NodePool {
  /** Node names are `<name>-<index>`. */
  name: string;
  count: number;
  /** `nvidia.com/gpu` allocatable per node; 0 for a CPU-only pool. */
  gpusPerNode: number;
  /** GPU Operator labels: `nvidia.com/gpu.product` and `nvidia.com/gpu.memory` (MiB). */
  gpuProduct?: string;
  gpuMemoryMiB?: number;
  cpu?: string;
  memory?: string;
  /** Taint `nvidia.com/gpu=present:NoSchedule`, as GPU node pools usually are. Default: true for GPU pools. */
  taintGpu?: boolean;
  labels?: Record<string, string>;
}

/** Annotation kwok selects the nodes it manages by (--manage-nodes-with-annotation-selector). */
export const kwokNodeAnnotation = 'kwok.x-k8s.io/node';
export const gpuResource = nvidiaGpuResource;
export const poolLabel = 'zimage.dev/node-pool';

/**
 * The default fake fleet: 4 H100 nodes with 8 GPUs each (labelled as the GPU Operator's feature
 * discovery does), 2 consumer nodes with one 16 GiB card each, and one CPU-only node for
 * system pods (operator, monitoring) that tolerate no GPU taint.
 */
export const defaultNodePools: readonly NodePool[] = [
  {
    name: 'gpu-h100',
    count: 4,
    gpusPerNode: 8,
    gpuProduct: 'NVIDIA-H100-80GB-HBM3',
    gpuMemoryMiB: 81559,
    cpu: '192',
    memory: '2048Gi',
  },
  {
    name: 'gpu-rtx4090',
    count: 2,
    gpusPerNode: 1,
    gpuProduct: 'NVIDIA-GeForce-RTX-4090',
    gpuMemoryMiB: 16384,
    cpu: '32',
    memory: '128Gi',
  },
  { name: 'cpu', count: 1, gpusPerNode: 0, cpu: '16', memory: '64Gi' },
];

/**
 * A small live fleet for the benchmarks: one H100 node of 8 GPUs and one CPU node (the
 * operator, and the routers, which take no GPU).
 */
export const benchNodePools: readonly NodePool[] = [
  {
    name: 'gpu-h100',
    count: 1,
    gpusPerNode: 8,
    gpuProduct: 'NVIDIA-H100-80GB-HBM3',
    gpuMemoryMiB: 81559,
  },
  { name: 'cpu', count: 1, gpusPerNode: 0 },
];

/** Build the Node objects for a set of pools. */
export function buildNodes(pools: readonly NodePool[]): V1Node[] {
  const nodes: V1Node[] = [];
  for (const pool of pools) {
    for (let i = 0; i < pool.count; i++) nodes.push(buildNode(pool, `${pool.name}-${i}`));
  }
  return nodes;
}

function buildNode(pool: NodePool, name: string): V1Node {
  const resources: Record<string, string> = {
    cpu: pool.cpu ?? '32',
    memory: pool.memory ?? '256Gi',
    pods: '110',
    'ephemeral-storage': '1Ti',
  };
  const labels: Record<string, string> = {
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    type: 'kwok',
    [poolLabel]: pool.name,
    ...pool.labels,
  };
  const isGpu = pool.gpusPerNode > 0;
  if (isGpu) {
    resources[gpuResource] = String(pool.gpusPerNode);
    labels['nvidia.com/gpu.present'] = 'true';
    labels['nvidia.com/gpu.count'] = String(pool.gpusPerNode);
    if (pool.gpuProduct) labels['nvidia.com/gpu.product'] = pool.gpuProduct;
    if (pool.gpuMemoryMiB) labels['nvidia.com/gpu.memory'] = String(pool.gpuMemoryMiB);
  }
  const taint = pool.taintGpu ?? isGpu;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels, annotations: { [kwokNodeAnnotation]: 'fake' } },
    spec: taint ? { taints: [{ key: gpuResource, value: 'present', effect: 'NoSchedule' }] } : {},
    status: { capacity: resources, allocatable: resources },
  };
}
