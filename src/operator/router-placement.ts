/**
 * The router's part of one reconcile (spec.router): the image its Deployment runs in the child
 * plan, the router Deployment that status reads once the plan has run, and the deletion of its
 * children once spec.router is off (and of the NetworkPolicies once spec.networkPolicy is:
 * router-prune.ts finds them).
 */
import type { V1Deployment } from '@kubernetes/client-node';
import type { ZImageDeployment } from './api/v1alpha1/types.ts';
import { routerNames } from './api/v1alpha1/names.ts';
import type { ApplierDeps } from './apply.ts';
import { isApplied, type Outcome } from './apply-plan.ts';
import { defaultRouterImage, type RouterImage } from './builders/router.ts';
import { statusCode } from '../formats/api-status.ts';
import type { RouterInput } from './observe-router.ts';
import { leftovers as leftoversOf } from './router-prune.ts';

/** What the router's part reads and deletes with: the reconciler's own caches and client. */
export type RouterPlacementDeps = Pick<ApplierDeps, 'kube' | 'caches'>;

/** The router image of the plan: the operator flag --router-image, else the operator's image. */
export function routerImage(configured: RouterImage | undefined): RouterImage {
  return configured ?? { image: defaultRouterImage };
}

/** The router Deployment as applied now, else as cached ('off' while the router is off). */
export function routerStatusInput(
  cr: ZImageDeployment,
  applied: Outcome | undefined,
  d: RouterPlacementDeps,
): RouterInput | 'off' {
  const { router } = cr.spec;
  if (!router.enabled) return 'off';
  const { namespace, name } = cr.metadata;
  const deployment =
    applied && isApplied(applied)
      ? (applied.obj as V1Deployment)
      : d.caches.getChild<V1Deployment>('Deployment', namespace, routerNames(name).deployment);
  return { replicas: router.replicas, deployment };
}

/**
 * Delete the router's children once spec.router is off, and the NetworkPolicies once
 * spec.networkPolicy is; what was deleted, for the Event.
 */
export async function pruneTurnedOff(
  cr: ZImageDeployment,
  d: RouterPlacementDeps,
): Promise<string[]> {
  const leftovers = leftoversOf(cr, (kind, ns, name) => d.caches.getChild(kind, ns, name));
  for (const obj of leftovers) {
    try {
      await d.kube.delete(obj);
    } catch (err) {
      // Already gone (the cache is behind): what we wanted.
      if (statusCode(err) !== 404) throw err;
    }
  }
  return leftovers.map((o) => `${o.kind} ${o.metadata?.name}`);
}
