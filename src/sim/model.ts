/**
 * The simulated fleet's fixed facts: the card, what a pod costs to start, how the runtime
 * admits requests, how clients retry. Every number says where it comes from.
 */
import type { Card, Workload } from '../contract/card.ts';
import { cardOf, startupSeconds } from '../contract/pod-start.ts';
import { maxResolutionOf } from '../operator/api/v1alpha1/runtime-spec.ts';
import type { ZImageDeploymentSpec } from '../operator/api/v1alpha1/spec.ts';
import { qualityOf } from '../operator/policy/knobs.ts';

export interface SimModel {
  card: Card;
  precision: ZImageDeploymentSpec['model']['precision'];
  /** Requests waiting behind the running one before a 429 (spec.runtime.maxQueue). */
  maxQueue: number;
  /** Per-request deadline from arrival at the pod (spec.runtime.requestTimeoutSeconds). */
  deadlineSeconds: number;
  /** GPU held to pod Ready: the weight load plus one warm-up image. */
  startupSeconds: number;
  /** GPUs the cluster has for this deployment; pods past them stay Pending. */
  gpus: number;
  /** ConfigMap change to the runtime applying it (a watch event, ~1 s). */
  liveConfigDelaySeconds: number;
  /** Client retries of a 429 or 503, after Retry-After: the OpenAI SDK's max_retries 2. */
  retries: number;
  /** The SLO the table counts against (the seed's "> 15 s per image"). */
  sloSeconds: number;
  /**
   * Behind the router: images that may wait there past what the pods take at once
   * (ZIMAGE_ROUTER_MAX_QUEUE, default 64, src/router/config.ts).
   */
  routerMaxQueue: number;
}

export function modelOf(
  spec: ZImageDeploymentSpec,
  over: Partial<Pick<SimModel, 'gpus' | 'startupSeconds' | 'card'>> = {},
): SimModel {
  const card = over.card ?? cardOf(spec);
  const warm: Workload = {
    ...maxResolutionOf(spec.runtime),
    ...qualityOf(spec),
    precision: spec.model.precision,
  };
  return {
    card,
    precision: spec.model.precision,
    maxQueue: spec.runtime.maxQueue,
    deadlineSeconds: spec.runtime.requestTimeoutSeconds,
    startupSeconds: over.startupSeconds ?? startupSeconds(card, warm),
    gpus: over.gpus ?? spec.autoscaling.maxReplicas,
    liveConfigDelaySeconds: 1,
    retries: 2,
    sloSeconds: 15,
    routerMaxQueue: 64,
  };
}
