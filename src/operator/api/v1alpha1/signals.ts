/**
 * Every signal by name: the one list the rules' schema, the signal sources and decide() take
 * their names from. Each name is spelled once; each group is built from the one before it.
 */

/** What a rule may watch that a source reads: each has a threshold range (autoscaling.ts). */
export const sourcedRuleSignals = [
  'gpuUtilization',
  'vramUsedRatio',
  'latencyP95Seconds',
  'waitP95Seconds',
  'queueDepth',
] as const;
export type SourcedRuleSignal = (typeof sourcedRuleSignals)[number];

/**
 * What a rule may watch that decide() works out from other signals: demandUtilization, the
 * share of the replicas asked for that the demand needs (policy/demand.ts: the router's
 * arriving work and queued work, at full quality).
 */
export const derivedRuleSignals = ['demandUtilization'] as const;
export type DerivedRuleSignal = (typeof derivedRuleSignals)[number];

export const ruleSignals = [...sourcedRuleSignals, ...derivedRuleSignals] as const;
export type RuleSignal = (typeof ruleSignals)[number];

/**
 * The router's view of demand: images waiting in the routers, their expected engine seconds,
 * images arriving per second, and the engine seconds arriving per second (GPUs kept busy) over
 * the demand rule's stable window and over its short burst (panic) window.
 */
export const routerSignals = [
  'routerQueuedImages',
  'routerQueuedWorkSeconds',
  'arrivedImagesPerSecond',
  'arrivedWorkPerSecond',
  'burstWorkPerSecond',
] as const;
export type RouterSignal = (typeof routerSignals)[number];

/** What the sources read for decide() and status: the rules' signals and the others. */
export const observedSignals = [
  ...sourcedRuleSignals,
  'inflight',
  'vramUsedBytes',
  ...routerSignals,
] as const;
export type ObservedSignal = (typeof observedSignals)[number];

/** Every signal a source reports: also the card's total memory, for the metrics. */
export const sourceSignals = [...observedSignals, 'vramTotalBytes'] as const;
export type SourceSignal = (typeof sourceSignals)[number];

/**
 * What decide() reads: the observed signals and pendingPods, which Kubernetes reports (pods
 * unschedulable for lack of GPUs), not a source.
 */
export const policySignals = [...observedSignals, 'pendingPods'] as const;
export type PolicySignal = (typeof policySignals)[number];
