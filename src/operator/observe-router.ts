/**
 * Pure: the router's part of the status (spec.router.enabled). RouterReady says whether every
 * router is available; status.router counts them for `kubectl get zid` (the Routers column).
 * With the router off, both are absent.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import type { Condition, ZImageDeploymentStatus } from './api/v1alpha1/status.ts';
import type { ConditionInput } from './conditions.ts';
import { reasons } from './reasons.ts';

export interface RouterInput {
  /** spec.router.replicas */
  replicas: number;
  /** The router Deployment as last applied or cached (absent before its first apply). */
  deployment?: V1Deployment | undefined;
}

export type RouterStatus = NonNullable<ZImageDeploymentStatus['router']>;

export function routerStatus(input: RouterInput): RouterStatus {
  const available = input.deployment?.status?.availableReplicas ?? 0;
  return {
    replicas: input.replicas,
    availableReplicas: available,
    ready: `${Math.min(available, input.replicas)}/${input.replicas}`,
  };
}

/** True only once every router the spec asks for is available (old ones still draining aside). */
export function routersReady(status: RouterStatus): boolean {
  return status.availableReplicas >= status.replicas;
}

export function routerCondition(status: RouterStatus): ConditionInput {
  return routersReady(status)
    ? {
        type: 'RouterReady',
        status: 'True',
        reason: reasons.RoutersReady,
        message: `${status.ready} routers ready`,
      }
    : {
        type: 'RouterReady',
        status: 'False',
        reason: reasons.RoutersNotReady,
        message: `${status.ready} routers ready`,
      };
}

/**
 * What observe() starts from: the routers now (absent while off or unknown), the status field
 * to write (the previous one where this reconcile did not look: a refused child, a blocked
 * object), and the previous status and conditions without the router's part where it is off.
 */
export function routerObservation(
  input: RouterInput | 'off' | undefined,
  previous: ZImageDeploymentStatus | undefined,
): {
  router: { now: RouterStatus | undefined; written: RouterStatus | undefined };
  previous: Omit<ZImageDeploymentStatus, 'router'>;
  conditions: Condition[] | undefined;
} {
  const { router: before, ...rest } = previous ?? {};
  const now = input && input !== 'off' ? routerStatus(input) : undefined;
  return {
    router: { now, written: input === undefined ? before : now },
    previous: rest,
    conditions:
      input === 'off' ? rest.conditions?.filter((c) => c.type !== 'RouterReady') : rest.conditions,
  };
}
