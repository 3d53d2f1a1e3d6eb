/**
 * What must hold before a ZImageDeployment's children are touched (a node offers its GPU, its
 * model claim exists), and what runs but not as well as it should (a ReadWriteOnce claim shared
 * by several pods, a Prometheus URL the operator refuses to query). Reads the informer caches only.
 */
import type { ZImageDeployment } from './api/v1alpha1/types.ts';
import type { CachedClaim } from './k8s/cached.ts';
import type { Caches } from './k8s/caches.ts';
import type { Problem } from './problem.ts';
import { reasons } from './reasons.ts';
import {
  judgeUrl,
  refusalMessage,
  type PrometheusUrlPolicy,
} from './signals/prometheus/url-policy.ts';

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

/** What runs but not as it should; the first problem found speaks. */
export function degraded(
  cr: ZImageDeployment,
  claim: CachedClaim | undefined,
  urlPolicy?: PrometheusUrlPolicy,
): Problem | undefined {
  return sharedReadWriteOnce(cr, claim) ?? refusedMetricsUrl(cr, urlPolicy);
}

/**
 * A Prometheus URL the autoscaler will not query. Said here too, not only in MetricsAvailable:
 * with direct metrics on as well, every signal may have a value and MetricsAvailable stay True
 * while the source the spec asked for is never read. Off mode queries nothing: no problem.
 */
function refusedMetricsUrl(
  cr: ZImageDeployment,
  policy: PrometheusUrlPolicy | undefined,
): Problem | undefined {
  const url = cr.spec.autoscaling.metrics.prometheus?.url;
  if (!policy || !url || cr.spec.autoscaling.mode === 'Off') return undefined;
  const verdict = judgeUrl(url, policy);
  if (verdict.ok) return undefined;
  return { reason: reasons.MetricsUrlRefused, message: refusalMessage(url, verdict.why) };
}

/** A ReadWriteOnce model claim cannot be mounted by pods on several nodes. */
function sharedReadWriteOnce(
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
