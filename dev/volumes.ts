import { CoreV1Api, type KubeConfig, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { tinyModelDir } from './paths.ts';
import { waitFor } from './process.ts';
import { keyOf } from '../src/contract/object-key.ts';

export interface ModelVolumeOptions {
  namespace: string;
  /** Claim name (the PV is `<namespace>-<name>`). */
  name: string;
  /** Default 50Gi: the real bf16 weights are ~21 GB, plus the fp32 CPU-offload files. */
  size?: string;
  /** Default ReadOnlyMany, the mode a shared model volume should have. */
  accessMode?: 'ReadOnlyMany' | 'ReadWriteOnce' | 'ReadWriteMany';
  /**
   * Host folder the PV points at. Default: the tiny model (dev/paths.ts), which the local
   * fleet's pod runner mounts for runtime pods; kwok's fake pods never read it.
   */
  hostPath?: string;
}

/** The storage class name of model volumes made by this helper (no provisioner behind it). */
export const modelStorageClass = 'zimage-local-models';

/**
 * Create a PersistentVolume and a claim for it, and wait until the controller-manager's PV
 * binder has bound them, as a statically provisioned model volume would be in production.
 */
export async function createModelVolume(
  kubeConfig: KubeConfig,
  options: ModelVolumeOptions,
): Promise<V1PersistentVolumeClaim> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const size = options.size ?? '50Gi';
  const accessModes = [options.accessMode ?? 'ReadOnlyMany'];
  const pvName = `${options.namespace}-${options.name}`;
  await core.createPersistentVolume({
    body: {
      metadata: { name: pvName, labels: { 'zimage.dev/model-volume': 'true' } },
      spec: {
        capacity: { storage: size },
        accessModes,
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: modelStorageClass,
        hostPath: { path: options.hostPath ?? tinyModelDir, type: '' },
        // Pre-bound to its claim so no other claim can take it.
        claimRef: { namespace: options.namespace, name: options.name },
      },
    },
  });
  await core.createNamespacedPersistentVolumeClaim({
    namespace: options.namespace,
    body: {
      metadata: { name: options.name },
      spec: {
        accessModes,
        storageClassName: modelStorageClass,
        volumeName: pvName,
        resources: { requests: { storage: size } },
      },
    },
  });
  let claim: V1PersistentVolumeClaim | undefined;
  await waitFor(
    `claim ${keyOf(options)} Bound`,
    async () => {
      claim = await core.readNamespacedPersistentVolumeClaim({
        name: options.name,
        namespace: options.namespace,
      });
      return claim.status?.phase === 'Bound';
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  return claim!;
}
