/**
 * What must hold before a ZImageDeployment's children are touched (a node offers its GPU, its
 * model claim exists), and what runs but not as well as it should (a ReadWriteOnce claim shared
 * by several pods). Reads the informer caches only.
 */
import type { ZImageDeployment } from './api/v1alpha1/types.ts';
import type { CachedClaim } from './k8s/cached.ts';
import type { Caches } from './k8s/caches.ts';
import type { Problem } from './problem.ts';
import { reasons } from './reasons.ts';

/** A blocking problem (children left as they are), or the model claim to run from. */
export function preflight(
  cr: ZImageDeployment,
  caches: Pick<Caches, 'hasResource' | 'getClaim'>,
): { problem?: Problem; claim?: CachedClaim } {
  const { resource } = cr.spec.gpu;
  if (!caches.hasResource(resource)) {
    return {
      problem: {
        reason: reasons.GpuResourceUnknown,
        message: `no node offers spec.gpu.resource "${resource}"; check the name or install the device plugin`,
      },
    };
  }
  const claimName = cr.spec.model.source.pvc.claimName;
  const claim = caches.getClaim(cr.metadata.namespace, claimName);
  if (!claim) {
    return {
      problem: {
        reason: reasons.ModelClaimMissing,
        message: `PersistentVolumeClaim "${claimName}" (spec.model.source.pvc.claimName) not found in ${cr.metadata.namespace}`,
      },
    };
  }
  return { claim };
}

/** A ReadWriteOnce model claim cannot be mounted by pods on several nodes. */
export function degraded(
  cr: ZImageDeployment,
  claim: CachedClaim | undefined,
): Problem | undefined {
  if (cr.spec.replicas <= 1 || !claim) return undefined;
  const modes = claim.status?.accessModes ?? claim.spec?.accessModes ?? [];
  if (modes.length !== 1 || modes[0] !== 'ReadWriteOnce') return undefined;
  return {
    reason: reasons.ModelClaimReadWriteOnce,
    message: `model claim "${claim.metadata?.name}" is ReadWriteOnce: ${cr.spec.replicas} replicas on different nodes cannot all mount it; use ReadOnlyMany`,
  };
}
