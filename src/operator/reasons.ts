import { policyReasons } from './policy/reasons.ts';

/**
 * Every reason the operator writes, in one list: status conditions, Events and metric labels
 * say the same thing, and a dashboard can group by reason.
 */
export const reasons = {
  // Ready
  Available: 'Available',
  /** No replica desired (spec.replicas 0, or the autoscaler scaled to minReplicas 0). */
  ScaledToZero: 'ScaledToZero',
  PodsNotReady: 'PodsNotReady',
  InvalidSpec: 'InvalidSpec',
  GpuResourceUnknown: 'GpuResourceUnknown',
  ModelClaimMissing: 'ModelClaimMissing',
  /** The API server refused a child (validation, admission, quota, policy). */
  ChildRejected: 'ChildRejected',
  /** The Deployment's ReplicaSet cannot create pods (FailedCreate). */
  ReplicaFailure: 'ReplicaFailure',
  /** The scheduler cannot place a pod (e.g. no node with enough free GPUs). */
  PodsUnschedulable: 'PodsUnschedulable',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  ReconcileFailed: 'ReconcileFailed',
  // RouterReady (and Ready, while the client Service points at routers that are not up)
  RoutersReady: 'RoutersReady',
  RoutersNotReady: 'RoutersNotReady',
  // Progressing
  RollingOut: 'RollingOut',
  RolloutComplete: 'RolloutComplete',
  // Degraded
  AsExpected: 'AsExpected',
  ModelClaimReadWriteOnce: 'ModelClaimReadWriteOnce',
  /** spec.autoscaling.metrics.prometheus.url is one the operator refuses to query. */
  MetricsUrlRefused: 'MetricsUrlRefused',
  // Autoscaler-owned conditions before the autoscaler runs
  AutoscalerNotEvaluated: 'AutoscalerNotEvaluated',
  // Events
  Created: 'Created',
  Updated: 'Updated',
  // The autoscaler policy's (policy/reasons.ts)
  ...policyReasons,
} as const;

export type Reason = (typeof reasons)[keyof typeof reasons];
