/**
 * Every signal by name: the one list the rules' schema, the signal sources and decide() take
 * their names from. Each name is spelled once; each group is built from the one before it.
 */

/** What a rule may watch: each has a threshold range of its own (autoscaling.ts). */
export const ruleSignals = [
  'gpuUtilization',
  'vramUsedRatio',
  'latencyP95Seconds',
  'waitP95Seconds',
  'queueDepth',
] as const;
export type RuleSignal = (typeof ruleSignals)[number];

/**
 * The router's view of demand, read for decide() and status (no rule watches them yet): images
 * waiting in the routers, their expected engine seconds, and images arriving per second.
 */
export const routerSignals = [
  'routerQueuedImages',
  'routerQueuedWorkSeconds',
  'arrivedImagesPerSecond',
] as const;
export type RouterSignal = (typeof routerSignals)[number];

/** What the sources read for decide() and status: the rules' signals and the others. */
export const observedSignals = [
  ...ruleSignals,
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
