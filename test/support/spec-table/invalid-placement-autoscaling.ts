/** Invalid rows for GPU placement and autoscaling (spec.gpu, spec.autoscaling). */
import {
  rule,
  withAutoscaling,
  withGpu,
  withRule,
  withToleration,
  type InvalidCase,
} from './builders.ts';

/** A toDemand rule (the default one's shape), with fields and windows to break. */
const demand = (extra: Record<string, unknown>, toDemand: Record<string, unknown> = {}) =>
  rule({
    name: 'demand',
    signal: 'demandUtilization',
    threshold: 80,
    action: { type: 'Scale', scale: { toDemand } },
    ...extra,
  });

export const invalidPlacementAndAutoscaling: InvalidCase[] = [
  { name: 'zero GPUs', spec: withGpu({ count: 0 }), field: 'spec.gpu.count' },
  {
    name: 'GPU resource without a domain',
    spec: withGpu({ resource: 'gpu' }),
    field: 'spec.gpu.resource',
    message: 'must be an extended resource name like nvidia.com/gpu',
  },
  {
    name: 'GPU resource name ending in a dash',
    spec: withGpu({ resource: 'nvidia.com/gpu-' }),
    field: 'spec.gpu.resource',
    message: 'must be an extended resource name like nvidia.com/gpu',
  },
  {
    name: 'minReplicas above maxReplicas',
    spec: withAutoscaling({ minReplicas: 5, maxReplicas: 2 }),
    field: 'spec.autoscaling.minReplicas',
  },
  {
    name: 'minReplicas 0 with the router off: nothing would hold requests at zero pods',
    spec: () => ({
      ...withAutoscaling({ mode: 'Enforce', minReplicas: 0 })(),
      router: { enabled: false },
    }),
    field: 'spec.autoscaling.minReplicas',
    message: 'minReplicas 0 (scale to zero) needs the router',
  },
  {
    name: 'minReplicas 0 with the router off, autoscaling Off',
    spec: () => ({ ...withAutoscaling({ minReplicas: 0 })(), router: { enabled: false } }),
    field: 'spec.autoscaling.minReplicas',
    message: 'needs the router (spec.router.enabled: true)',
  },
  {
    name: 'interval too long',
    spec: withAutoscaling({ interval: '10m' }),
    field: 'spec.autoscaling.interval',
  },
  {
    name: 'utilization threshold over 100',
    spec: withAutoscaling({ rules: [rule({ threshold: 150 })] }),
    field: 'spec.autoscaling.rules[0].threshold',
    message: 'threshold for gpuUtilization must be in 0..100',
  },
  {
    name: 'VRAM ratio threshold over 1',
    spec: withAutoscaling({ rules: [rule({ signal: 'vramUsedRatio', threshold: 14 })] }),
    field: 'spec.autoscaling.rules[0].threshold',
    message: 'threshold for vramUsedRatio must be in 0..1',
  },
  {
    name: 'action type without its field',
    spec: withAutoscaling({ rules: [rule({ action: { type: 'Scale' } })] }),
    field: 'spec.autoscaling.rules[0].action',
  },
  {
    name: 'scale by and to together',
    spec: withAutoscaling({
      rules: [rule({ action: { type: 'Scale', scale: { by: 1, to: 3 } } })],
    }),
    field: 'spec.autoscaling.rules[0].action.scale',
  },
  {
    name: 'steps action to 0',
    spec: withAutoscaling({ rules: [rule({ action: { type: 'Steps', steps: { set: 0 } } })] }),
    field: 'spec.autoscaling.rules[0].action.steps.set',
  },
  {
    name: 'scale to demand on a utilization rule',
    spec: withAutoscaling({
      rules: [rule({ action: { type: 'Scale', scale: { toDemand: {} } } })],
    }),
    field: 'spec.autoscaling.rules[0].signal',
    message: 'a demandUtilization rule is an Above rule with action scale.toDemand',
  },
  {
    name: 'demandUtilization with a fixed scale step',
    spec: withAutoscaling({ rules: [rule({ signal: 'demandUtilization', threshold: 80 })] }),
    field: 'spec.autoscaling.rules[0].signal',
    message: 'a demandUtilization rule is an Above rule with action scale.toDemand',
  },
  {
    name: 'demandUtilization as a Below rule',
    spec: withAutoscaling({ rules: [demand({ operator: 'Below' })] }),
    field: 'spec.autoscaling.rules[0].signal',
  },
  {
    name: 'demandUtilization threshold 0',
    spec: withAutoscaling({ rules: [demand({ threshold: 0 })] }),
    field: 'spec.autoscaling.rules[0].threshold',
    message: 'threshold for demandUtilization must be in 0..100 (above 0)',
  },
  {
    name: 'demandUtilization clearThreshold over 100',
    spec: withAutoscaling({ rules: [demand({ threshold: 100, clearThreshold: 120 })] }),
    field: 'spec.autoscaling.rules[0].clearThreshold',
    message: 'clearThreshold for demandUtilization must be in 0..100 (above 0)',
  },
  {
    name: 'toDemand and by together',
    spec: withAutoscaling({
      rules: [demand({ action: { type: 'Scale', scale: { by: 1, toDemand: {} } } })],
    }),
    field: 'spec.autoscaling.rules[0].action.scale',
    message: 'set exactly one of by, to or toDemand',
  },
  {
    name: 'panic window as long as the stable window',
    spec: withAutoscaling({ rules: [demand({}, { panicWindow: '60s' })] }),
    field: 'spec.autoscaling.rules[0].action.scale.toDemand.panicWindow',
    message: 'panicWindow must be shorter than stableWindow',
  },
  {
    name: 'drain horizon over 10 minutes',
    spec: withAutoscaling({ rules: [demand({}, { drain: '20m' })] }),
    field: 'spec.autoscaling.rules[0].action.scale.toDemand.drain',
    message: 'must be between 1s and 10m',
  },
  {
    name: 'stable window over 10 minutes',
    spec: withAutoscaling({ rules: [demand({}, { stableWindow: '20m' })] }),
    field: 'spec.autoscaling.rules[0].action.scale.toDemand.stableWindow',
    message: 'must be between 6s and 10m',
  },
  {
    name: 'panic window under a second',
    spec: withAutoscaling({ rules: [demand({}, { panicWindow: '500ms' })] }),
    field: 'spec.autoscaling.rules[0].action.scale.toDemand.panicWindow',
    message: 'must be between 1s and 1m',
  },
  {
    name: 'scale to demand without the router',
    spec: () => ({
      ...withAutoscaling({ rules: [demand({})] })(),
      router: { enabled: false },
    }),
    field: 'spec.autoscaling.rules',
    message: 'a demandUtilization rule (scale to demand) needs the router',
  },
  {
    name: 'two rules scaling to demand',
    spec: withAutoscaling({ rules: [demand({}), demand({ name: 'demand-2' })] }),
    field: 'spec.autoscaling.rules',
    message: 'at most one rule may scale to demand (signal demandUtilization)',
  },
  {
    name: 'duplicate rule names',
    spec: withAutoscaling({ rules: [rule({}), rule({})] }),
    field: 'spec.autoscaling.rules',
  },
  {
    name: 'toleration value with operator Exists',
    spec: withToleration({ key: 'k', operator: 'Exists', value: 'v' }),
    field: 'spec.gpu.tolerations[0].value',
    message: 'value must be empty when operator is Exists',
  },
  {
    name: 'tolerationSeconds with effect NoSchedule',
    spec: withToleration({ key: 'k', effect: 'NoSchedule', tolerationSeconds: 30 }),
    field: 'spec.gpu.tolerations[0].tolerationSeconds',
    message: 'tolerationSeconds needs effect NoExecute',
  },
  {
    name: 'toleration key not a qualified name',
    spec: withToleration({ key: 'bad key!', operator: 'Exists' }),
    field: 'spec.gpu.tolerations[0].key',
    message: 'key must be a qualified name',
  },
  {
    name: 'toleration key prefix longer than 253',
    spec: withToleration({ key: `${'a'.repeat(254)}/k`, operator: 'Exists' }),
    field: 'spec.gpu.tolerations[0].key',
    message: 'key must be a qualified name',
  },
  {
    name: 'toleration without key and operator Equal',
    spec: withToleration({ operator: 'Equal', value: 'v' }),
    field: 'spec.gpu.tolerations[0].operator',
    message: 'an empty key needs operator Exists',
  },
  {
    name: 'toleration value not a label value',
    spec: withToleration({ key: 'k', value: 'bad value!' }),
    field: 'spec.gpu.tolerations[0].value',
    message: 'starting and ending alphanumeric',
  },
  {
    name: 'nodeSelector key not a label key',
    spec: withGpu({ nodeSelector: { 'bad key!': 'x' } }),
    field: 'spec.gpu.nodeSelector',
    message: 'keys must be label keys',
  },
  {
    name: 'nodeSelector value not a label value',
    spec: withGpu({ nodeSelector: { 'nvidia.com/gpu.product': 'bad value!' } }),
    field: 'spec.gpu.nodeSelector',
    message: 'starting and ending alphanumeric',
  },
  {
    name: 'clearThreshold above threshold for an Above rule',
    spec: withRule({ threshold: 90, clearThreshold: 95 }),
    field: 'spec.autoscaling.rules[0].clearThreshold',
    message: 'clearThreshold must be on the clearing side of threshold',
  },
  {
    name: 'clearThreshold below threshold for a Below rule',
    spec: withRule({ operator: 'Below', threshold: 30, clearThreshold: 20 }),
    field: 'spec.autoscaling.rules[0].clearThreshold',
    message: 'clearThreshold must be on the clearing side of threshold',
  },
  {
    name: 'clearThreshold out of the signal range',
    spec: withRule({ signal: 'vramUsedRatio', threshold: 0.9, clearThreshold: 0 }),
    field: 'spec.autoscaling.rules[0].clearThreshold',
    message: 'clearThreshold for vramUsedRatio must be in 0..1',
  },
  {
    name: 'clearThreshold over 100 for utilization',
    spec: withRule({ operator: 'Below', threshold: 30, clearThreshold: 101 }),
    field: 'spec.autoscaling.rules[0].clearThreshold',
    message: 'clearThreshold for gpuUtilization must be in 0..100',
  },
  {
    name: 'clearThreshold 0 for latency',
    spec: withRule({ signal: 'latencyP95Seconds', threshold: 15, clearThreshold: 0 }),
    field: 'spec.autoscaling.rules[0].clearThreshold',
    message: 'clearThreshold for latencyP95Seconds must be in 0..3600 (above 0)',
  },
  {
    name: 'clearThreshold negative for queue depth',
    spec: withRule({ signal: 'queueDepth', threshold: 4, clearThreshold: -1 }),
    field: 'spec.autoscaling.rules[0].clearThreshold',
    message: 'clearThreshold for queueDepth must be in 0..10000',
  },
  {
    name: 'for longer than 1h',
    spec: withRule({ for: '2h' }),
    field: 'spec.autoscaling.rules[0].for',
    message: 'must be at most 1h',
  },
  {
    name: 'cooldown longer than 1h',
    spec: withRule({ cooldown: '61m' }),
    field: 'spec.autoscaling.rules[0].cooldown',
    message: 'must be at most 1h',
  },
  {
    name: 'latency threshold 0',
    spec: withRule({ signal: 'latencyP95Seconds', threshold: 0 }),
    field: 'spec.autoscaling.rules[0].threshold',
    message: 'threshold for latencyP95Seconds must be in 0..3600 (above 0)',
  },
  {
    name: 'client wait threshold past the longest deadline',
    spec: withRule({ signal: 'waitP95Seconds', threshold: 3601 }),
    field: 'spec.autoscaling.rules[0].threshold',
    message: 'threshold for waitP95Seconds must be in 0..3600 (above 0)',
  },
  {
    name: 'client wait clearThreshold 0',
    spec: withRule({ signal: 'waitP95Seconds', threshold: 15, clearThreshold: 0 }),
    field: 'spec.autoscaling.rules[0].clearThreshold',
    message: 'clearThreshold for waitP95Seconds must be in 0..3600 (above 0)',
  },
  {
    name: 'queue depth threshold negative',
    spec: withRule({ signal: 'queueDepth', threshold: -1 }),
    field: 'spec.autoscaling.rules[0].threshold',
    message: 'threshold for queueDepth must be in 0..10000',
  },
  {
    name: 'steps action with set and by',
    spec: withRule({ action: { type: 'Steps', steps: { set: 8, by: 1 } } }),
    field: 'spec.autoscaling.rules[0].action.steps',
    message: 'set exactly one of set or by',
  },
  {
    name: 'interval too short',
    spec: withAutoscaling({ interval: '50ms' }),
    field: 'spec.autoscaling.interval',
    message: 'must be between 100ms and 5m',
  },
];
