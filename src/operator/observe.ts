/** Pure: the status a ZImageDeployment should have, given what its children report. */
import type { V1Deployment } from '@kubernetes/client-node';
import type { ZImageDeploymentStatus } from './api/v1alpha1/status.ts';
import type { ZImageDeploymentSpec } from './api/v1alpha1/spec.ts';
import type { Effective } from './api/v1alpha1/types.ts';
import { belowDeployment } from './below.ts';
import { selectorString } from './api/v1alpha1/names.ts';
import type { CachedPod } from './k8s/cached.ts';
import { setConditions, type ConditionInput } from './conditions.ts';
import { reasons } from './reasons.ts';
import type { AutoscalerOutcome } from './autoscaling/decision.ts';
import { lastActionText } from './policy/outcome.ts';
import { scaledToZeroMessage } from './observe-zero.ts';
import type { Problem } from './problem.ts';
import {
  routerCondition,
  routerObservation,
  routersReady,
  type RouterInput,
  type RouterStatus,
} from './observe-router.ts';

export interface ObserveInput {
  name: string;
  generation: number;
  previous: ZImageDeploymentStatus | undefined;
  /** Absent when the spec could not be parsed. */
  effective?: Effective | undefined;
  /** The parsed spec, for what Ready says at zero replicas (absent: a plain "scaled to zero"). */
  spec?: ZImageDeploymentSpec | undefined;
  deployment?: V1Deployment | undefined;
  /** The object's pods (for what the Deployment's status does not tell: unschedulable pods). */
  pods?: readonly CachedPod[] | undefined;
  /**
   * Blocks running (invalid spec, unknown GPU resource, missing claim, a child the API server
   * refused): Ready=False and Progressing=False with its reason.
   */
  problem?: Problem | undefined;
  /** Runs, but not as well as it should (RWO model claim shared by several pods). */
  degraded?: Problem | undefined;
  /** A decision the autoscaler took in this reconcile (absent: its part of status stands). */
  autoscaler?: Pick<AutoscalerOutcome, 'decision' | 'summary'> | undefined;
  /** The routers (spec.router.enabled), 'off' to remove their status, absent to keep it. */
  router?: RouterInput | 'off' | undefined;
  now: string;
}

function allReady(input: ObserveInput): boolean {
  const desired = input.effective?.replicas ?? 0;
  return !!input.deployment && (input.deployment.status?.readyReplicas ?? 0) >= desired;
}

/** What keeps the object from running: its own problem, else one below the Deployment. */
function blocker(input: ObserveInput): Problem | undefined {
  if (input.problem) return input.problem;
  return allReady(input) ? undefined : belowDeployment(input.deployment, input.pods ?? []);
}

function readiness(
  input: ObserveInput,
  blocked: Problem | undefined,
  router: RouterStatus | undefined,
): ConditionInput {
  if (blocked) return { type: 'Ready', status: 'False', ...blocked };
  const desired = input.effective?.replicas ?? 0;
  const ready = input.deployment?.status?.readyReplicas ?? 0;
  // Clients reach the pods through the routers: pods without their routers are not ready.
  if (allReady(input) && router && !routersReady(router)) {
    return {
      type: 'Ready',
      status: 'False',
      reason: reasons.RoutersNotReady,
      message: `${ready}/${desired} replicas ready; ${router.ready} routers ready`,
    };
  }
  if (allReady(input) && desired === 0) {
    const message = scaledToZeroMessage(input.name, input.spec);
    return { type: 'Ready', status: 'True', reason: reasons.ScaledToZero, message };
  }
  if (allReady(input)) {
    const message = `${ready}/${desired} replicas ready`;
    return { type: 'Ready', status: 'True', reason: reasons.Available, message };
  }
  return {
    type: 'Ready',
    status: 'False',
    reason: reasons.PodsNotReady,
    message: `${ready}/${desired} replicas ready`,
  };
}

/** Counts of a Deployment's rollout, zero where the status has not been written yet. */
function rollout(d: V1Deployment) {
  const status = d.status ?? {};
  return {
    updated: status.updatedReplicas ?? 0,
    total: status.replicas ?? 0,
    stale: (status.observedGeneration ?? 0) < (d.metadata?.generation ?? 0),
  };
}

function progress(input: ObserveInput, blocked: Problem | undefined): ConditionInput {
  // A rollout that cannot move is not progressing: say why, in the same words as Ready.
  if (blocked) return { type: 'Progressing', status: 'False', ...blocked };
  const desired = input.effective?.replicas ?? 0;
  const d = input.deployment;
  const { updated, total, stale } = d ? rollout(d) : { updated: 0, total: 0, stale: false };
  if (d && (stale || updated < desired || total > updated)) {
    return {
      type: 'Progressing',
      status: 'True',
      reason: reasons.RollingOut,
      message: `${updated}/${desired} replicas updated`,
    };
  }
  return {
    type: 'Progressing',
    status: 'False',
    reason: reasons.RolloutComplete,
    message: 'no rollout in progress',
  };
}

function autoscalerOwned(previous: ZImageDeploymentStatus | undefined): ConditionInput[] {
  return (['MetricsAvailable', 'ScalingLimited'] as const)
    .filter((type) => !previous?.conditions?.some((c) => c.type === type))
    .map((type) => ({
      type,
      status: 'Unknown' as const,
      reason: reasons.AutoscalerNotEvaluated,
      message: 'the autoscaler has not evaluated this object yet',
    }));
}

export function observe(input: ObserveInput): ZImageDeploymentStatus {
  const degraded: ConditionInput = input.degraded
    ? { type: 'Degraded', status: 'True', ...input.degraded }
    : {
        type: 'Degraded',
        status: 'False',
        reason: reasons.AsExpected,
        message: 'nothing degraded',
      };
  const blocked = blocker(input);
  const { router, previous, conditions: kept } = routerObservation(input.router, input.previous);
  const conditions = setConditions(
    kept,
    [
      readiness(input, blocked, router.now),
      progress(input, blocked),
      degraded,
      ...(input.autoscaler
        ? input.autoscaler.decision.conditions
        : autoscalerOwned(input.previous)),
      ...(router.now ? [routerCondition(router.now)] : []),
    ],
    input.generation,
    input.now,
  );
  const { effective, deployment } = input;
  return {
    ...previous,
    ...(router.written ? { router: router.written } : {}),
    observedGeneration: input.generation,
    replicas: deployment?.status?.replicas ?? 0,
    readyReplicas: deployment?.status?.readyReplicas ?? 0,
    selector: selectorString(input.name),
    conditions,
    ...(effective ? { effective: { ...effective } } : {}),
    ...(input.autoscaler ? autoscalerPart(input.autoscaler) : {}),
  };
}

function autoscalerPart(
  a: NonNullable<ObserveInput['autoscaler']>,
): Pick<ZImageDeploymentStatus, 'autoscaler' | 'signals' | 'lastAction'> {
  const { state } = a.decision;
  const last = lastActionText(state.history);
  return {
    autoscaler: state,
    ...(state.mode === 'Off' ? {} : { signals: a.summary }),
    ...(last ? { lastAction: last } : {}),
  };
}
