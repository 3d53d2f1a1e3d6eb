import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { apiVersion, type ZImageDeployment } from '../api/v1alpha1/types.ts';
import { crdNames } from '../api/v1alpha1/crd.ts';
import { childLabels } from '../api/v1alpha1/names.ts';

/**
 * Children are owned by their ZImageDeployment (controller: true), so deleting the CR lets
 * the garbage collector remove them. No finalizer: nothing of ours lives outside the cluster.
 */
export function ownerReference(cr: ZImageDeployment): V1OwnerReference {
  return {
    apiVersion,
    kind: crdNames.kind,
    name: cr.metadata.name,
    uid: cr.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** A child's metadata: its name, the CR's namespace, owner and labels (the runtime's by default). */
export function childMeta(
  cr: ZImageDeployment,
  name: string,
  labels: Record<string, string> = childLabels(cr.metadata.name),
): V1ObjectMeta & { name: string; namespace: string } {
  return {
    name,
    namespace: cr.metadata.namespace,
    labels,
    ownerReferences: [ownerReference(cr)],
  };
}
