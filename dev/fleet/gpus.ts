/**
 * The GPUs of each fake node and which pod holds which, as the NVIDIA device plugin would
 * assign them: a pod that requests `nvidia.com/gpu` takes the node's lowest free indices, in
 * the order the pods were seen, and gives them back when its object goes away (kubelet frees
 * devices when the pod is gone). The runner publishes the result per node where kubelet's
 * pod-resources API would be, and the dcgm-exporter stand-in reads it.
 */
import { createHash } from 'node:crypto';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { cardForProduct, cards, type Card } from '../../src/contract/card.ts';
import { nvidiaGpuResource } from '../../src/contract/labels.ts';

export interface GpuDevice {
  index: number;
  /** `GPU-` + a UUID derived from node and index, stable across runs. */
  uuid: string;
  /** `nvidia<index>`, as dcgm-exporter's device label. */
  device: string;
  pciBusId: string;
  modelName: string;
  /** GPU Feature Discovery's product label; keys the card model. */
  product: string;
  memoryMiB: number;
}

export interface GpuAssignment {
  index: number;
  namespace: string;
  pod: string;
  container: string;
  uid: string;
  /** Where the process on this GPU serves /metrics (its busy time); absent for kwok fakes. */
  metricsUrl?: string;
}

/** The file the runner writes per node (kubelet's pod-resources API, as a file). */
export interface NodeGpus {
  node: string;
  devices: GpuDevice[];
  assignments: GpuAssignment[];
}

/** Bus ids as an 8-GPU HGX board lists them (nvidia-smi on an H100 host). */
const busIds = ['18', '2A', '3A', '5D', '9A', 'AB', 'BA', 'DB'];

/**
 * The card model of a node's GPUs: by GPU Feature Discovery's product label, and where one
 * product has several profiles (the RTX 4090 as the 16 GB budget and as the retail 24 GB card)
 * the one whose memory matches the node's `nvidia.com/gpu.memory` (MiB); else cardForProduct's.
 */
export function cardForNode(node: V1Node | undefined): Card | undefined {
  const labels = node?.metadata?.labels ?? {};
  const product = labels['nvidia.com/gpu.product'];
  const labelMiB = Number(labels['nvidia.com/gpu.memory']);
  const same = Object.values(cards).filter((c) => c.product === product);
  return same.find((c) => c.memoryBytes / 2 ** 20 === labelMiB) ?? cardForProduct(product);
}

export function nodeDevices(node: V1Node): GpuDevice[] {
  const name = node.metadata?.name ?? '';
  const count = Number(node.status?.allocatable?.[nvidiaGpuResource] ?? 0);
  const product = node.metadata?.labels?.['nvidia.com/gpu.product'] ?? 'NVIDIA-Unknown';
  const card = cardForNode(node);
  const labelMiB = Number(node.metadata?.labels?.['nvidia.com/gpu.memory']);
  const memoryMiB = card ? card.memoryBytes / 2 ** 20 : Number.isFinite(labelMiB) ? labelMiB : 0;
  return Array.from({ length: count }, (_, index) => {
    const hex = createHash('sha256').update(`${name}/${index}`).digest('hex');
    const uuid = `GPU-${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
    const bus = busIds[index] ?? (0x10 + index).toString(16).toUpperCase();
    return {
      index,
      uuid,
      device: `nvidia${index}`,
      pciBusId: `00000000:${bus}:00.0`,
      modelName: card?.modelName ?? product.replaceAll('-', ' '),
      product,
      memoryMiB,
    };
  });
}

/** GPUs each container asks for (extended resources: limits, which requests must equal). */
export function gpuRequests(pod: V1Pod): { container: string; count: number }[] {
  return (pod.spec?.containers ?? [])
    .map((c) => ({
      container: c.name,
      count: Number(
        c.resources?.limits?.[nvidiaGpuResource] ?? c.resources?.requests?.[nvidiaGpuResource] ?? 0,
      ),
    }))
    .filter((r) => r.count > 0);
}

/** Per node: which pod uid holds which index. */
export class GpuAllocator {
  private readonly held = new Map<string, Map<number, Omit<GpuAssignment, 'index'>>>();

  private onNode(node: string): Map<number, Omit<GpuAssignment, 'index'>> {
    const held = this.held.get(node) ?? new Map<number, Omit<GpuAssignment, 'index'>>();
    this.held.set(node, held);
    return held;
  }

  /**
   * Give the pod its GPUs if it has none yet. Returns its indices per container, or undefined
   * when the node has too few free (the scheduler should have prevented it).
   */
  assign(pod: V1Pod, capacity: number, metricsUrl?: (container: string) => string | undefined) {
    const onNode = this.onNode(pod.spec?.nodeName ?? '');
    const uid = pod.metadata?.uid ?? '';
    const mine = [...onNode].filter(([, a]) => a.uid === uid);
    if (mine.length > 0) {
      // Already assigned: only the address may be new (the pod got its IP after admission).
      for (const [, a] of mine) {
        const url = metricsUrl?.(a.container);
        if (url) a.metricsUrl = url;
      }
      return mine.map(([index, a]) => ({ index, container: a.container }));
    }
    return this.take(onNode, pod, capacity, metricsUrl);
  }

  private take(
    onNode: Map<number, Omit<GpuAssignment, 'index'>>,
    pod: V1Pod,
    capacity: number,
    metricsUrl?: (container: string) => string | undefined,
  ) {
    const wanted = gpuRequests(pod);
    const free = Array.from({ length: capacity }, (_, i) => i).filter((i) => !onNode.has(i));
    if (wanted.reduce((n, w) => n + w.count, 0) > free.length) return undefined;
    const { namespace = '', name = '', uid = '' } = pod.metadata ?? {};
    const given: { index: number; container: string }[] = [];
    for (const w of wanted) {
      const url = metricsUrl?.(w.container);
      for (const index of free.splice(0, w.count)) {
        onNode.set(index, {
          namespace,
          pod: name,
          container: w.container,
          uid,
          ...(url ? { metricsUrl: url } : {}),
        });
        given.push({ index, container: w.container });
      }
    }
    return given;
  }

  release(node: string, uid: string): boolean {
    const onNode = this.held.get(node);
    let changed = false;
    for (const [index, a] of onNode ?? []) {
      if (a.uid === uid) changed = onNode!.delete(index) || changed;
    }
    return changed;
  }

  assignments(node: string): GpuAssignment[] {
    return [...(this.held.get(node) ?? [])]
      .map(([index, a]) => ({ index, ...a }))
      .sort((a, b) => a.index - b.index);
  }
}
