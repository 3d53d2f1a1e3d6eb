/**
 * The autoscaler's reasons: history entries, conditions, Events and metric labels all carry one
 * of these (spread into the operator's one list, reasons.ts).
 */
import { missingReasons } from './signals.ts';

export const policyReasons = {
  // Actions (history entries and Events)
  /** A rule scaled out. */
  ScaledOut: 'ScaledOut',
  /** A rule scaled in: quality was already full and the survivors stay under the thresholds. */
  ScaledIn: 'ScaledIn',
  /** Scaling out could not help now (at max, pods Pending, pods starting): one notch down. */
  QualityLowered: 'QualityLowered',
  /** Load fell: the newest notch given back. */
  QualityRestored: 'QualityRestored',
  /** Quality is below the spec and giving it back needs a GPU more: scale out for it. */
  QualityDebt: 'QualityDebt',
  /** A rule's own offload, attention or steps action. */
  RuleAction: 'RuleAction',
  /** spec.replicas changed by someone else in Enforce mode: set back. */
  ManualScaleOverruled: 'ManualScaleOverruled',
  /** Replicas outside [minReplicas, maxReplicas] (the bounds changed): brought inside. */
  ReplicasOutOfBounds: 'ReplicasOutOfBounds',
  // MetricsAvailable (False: one of missingReasons)
  SignalsAvailable: 'SignalsAvailable',
  ...missingReasons,
  // ScalingLimited
  AtMaxReplicas: 'AtMaxReplicas',
  PodsPending: 'PodsPending',
  WithinBounds: 'WithinBounds',
  // SamplingSufficient
  WindowsCovered: 'WindowsCovered',
  WindowShorterThanSampling: 'WindowShorterThanSampling',
  // Every autoscaler condition while spec.autoscaling.mode is Off
  AutoscalingOff: 'AutoscalingOff',
} as const;

export type PolicyReason = (typeof policyReasons)[keyof typeof policyReasons];
