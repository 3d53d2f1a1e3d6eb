/**
 * One table of specs, run through both the zod schema (unit) and the real API server
 * (integration): both must give the same verdict, and both messages must name the field.
 */
import { defaultRules } from '../../src/operator/policy/default-rules.ts';

type Spec = Record<string, unknown> & {
  runtime: Record<string, unknown>;
  model: Record<string, unknown>;
  autoscaling?: Record<string, unknown>;
  gpu?: Record<string, unknown>;
};

export const baseSpec = (): Spec => ({
  model: { source: { pvc: { claimName: 'zimage-models' } } },
  runtime: { image: 'registry.example/zimage-runtime:0.1.0' },
});

const rule = (extra: Record<string, unknown>) => ({
  name: 'r1',
  signal: 'gpuUtilization',
  operator: 'Above',
  threshold: 90,
  action: { type: 'Scale', scale: { by: 1 } },
  ...extra,
});

const withRuntime = (runtime: Record<string, unknown>) => () => {
  const s = baseSpec();
  s.runtime = { ...s.runtime, ...runtime };
  return s;
};
const withAutoscaling = (autoscaling: Record<string, unknown>) => () => ({
  ...baseSpec(),
  autoscaling,
});
const withGpu = (gpu: Record<string, unknown>) => () => ({ ...baseSpec(), gpu });

export interface InvalidCase {
  name: string;
  spec: () => unknown;
  /** Field both verdicts must name (API server and zod). */
  field: string;
  /** Where the API server's wording differs (unknown fields). */
  apiField?: string;
}

export const invalidSpecs: InvalidCase[] = [
  { name: 'steps 0', spec: withRuntime({ steps: 0 }), field: 'spec.runtime.steps' },
  { name: 'steps 51', spec: withRuntime({ steps: 51 }), field: 'spec.runtime.steps' },
  { name: 'steps not an integer', spec: withRuntime({ steps: 4.5 }), field: 'spec.runtime.steps' },
  {
    name: 'resolution not a multiple of 16',
    spec: withRuntime({ maxResolution: '1000x1000' }),
    field: 'spec.runtime.maxResolution',
  },
  {
    name: 'resolution over the limit',
    spec: withRuntime({ maxResolution: '4096x4096' }),
    field: 'spec.runtime.maxResolution',
  },
  {
    name: 'resolution malformed',
    spec: withRuntime({ maxResolution: 'big' }),
    field: 'spec.runtime.maxResolution',
  },
  {
    name: 'unknown attention backend',
    spec: withRuntime({ attention: 'sdpa' }),
    field: 'spec.runtime.attention',
  },
  {
    name: 'unknown offload mode',
    spec: withRuntime({ offload: 'disk' }),
    field: 'spec.runtime.offload',
  },
  {
    name: 'unknown execution provider',
    spec: withRuntime({ executionProvider: 'rocm' }),
    field: 'spec.runtime.executionProvider',
  },
  { name: 'empty image', spec: withRuntime({ image: '' }), field: 'spec.runtime.image' },
  {
    name: 'negative replicas',
    spec: () => ({ ...baseSpec(), replicas: -1 }),
    field: 'spec.replicas',
  },
  { name: 'missing model', spec: () => ({ runtime: baseSpec().runtime }), field: 'spec.model' },
  {
    name: 'claim name not a DNS name',
    spec: () => ({ ...baseSpec(), model: { source: { pvc: { claimName: 'Bad_Name' } } } }),
    field: 'spec.model.source.pvc.claimName',
  },
  { name: 'zero GPUs', spec: withGpu({ count: 0 }), field: 'spec.gpu.count' },
  {
    name: 'GPU resource without a domain',
    spec: withGpu({ resource: 'gpu' }),
    field: 'spec.gpu.resource',
  },
  {
    name: 'minReplicas above maxReplicas',
    spec: withAutoscaling({ minReplicas: 5, maxReplicas: 2 }),
    field: 'spec.autoscaling.minReplicas',
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
  },
  {
    name: 'VRAM ratio threshold over 1',
    spec: withAutoscaling({ rules: [rule({ signal: 'vramUsedRatio', threshold: 14 })] }),
    field: 'spec.autoscaling.rules[0].threshold',
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
    name: 'duplicate rule names',
    spec: withAutoscaling({ rules: [rule({}), rule({})] }),
    field: 'spec.autoscaling.rules',
  },
  {
    name: 'unknown field',
    spec: withRuntime({ stepz: 4 }),
    field: 'spec.runtime',
    apiField: 'spec.runtime.stepz',
  },
];

export const validSpecs: { name: string; spec: () => unknown }[] = [
  { name: 'minimal', spec: baseSpec },
  { name: 'steps 1 and 50 bounds', spec: withRuntime({ steps: 50, maxResolution: '2048x256' }) },
  { name: 'zero replicas', spec: () => ({ ...baseSpec(), replicas: 0 }) },
  {
    name: 'minReplicas equal to maxReplicas',
    spec: withAutoscaling({ minReplicas: 3, maxReplicas: 3 }),
  },
  {
    name: "the seed's rules verbatim (steps set 16, attention math)",
    spec: withAutoscaling({
      mode: 'DryRun',
      rules: [
        rule({
          name: 'overload',
          threshold: 90,
          for: '5s',
          action: { type: 'Scale', scale: { by: 1 } },
        }),
        rule({
          name: 'vram',
          signal: 'vramUsedRatio',
          threshold: 0.875,
          action: { type: 'Attention', attention: 'math' },
        }),
        rule({
          name: 'slow',
          signal: 'latencyP95Seconds',
          threshold: 15,
          for: '30s',
          action: { type: 'Steps', steps: { set: 16 } },
        }),
      ],
    }),
  },
  {
    // The defaults a user may copy into a spec: both judges must accept every row.
    name: 'the default rules table written out',
    spec: withAutoscaling({ rules: structuredClone(defaultRules) }),
  },
];
