/**
 * ZImageDeployment spec (zimage.dev/v1alpha1): the one source of truth. The CRD's OpenAPI
 * schema is generated from these zod schemas (see crd.ts); CEL rules ride along as
 * `x-kubernetes-validations` metadata and are mirrored by zod refinements, so the API server
 * and the operator give the same verdict (a table test holds them to it).
 */
import { z } from 'zod';
import {
  attentionBackends,
  executionProviders,
  offloadModes,
  precisions,
  stepsRange,
} from '../../../contract/runtime.ts';
import {
  cel,
  durationPattern,
  durationSeconds,
  intOrString,
  name253,
  name63,
} from './schema-kit.ts';

/** Resolution bounds: 256..2048 px per side, a multiple of 16 (VAE 8x down, 2x2 patches). */
export const resolutionLimits = { min: 256, max: 2048, multiple: 16 } as const;

const resolutionRule =
  "self.split('x').all(d, int(d) >= 256 && int(d) <= 2048 && int(d) % 16 == 0)";

function resolutionOk(value: string): boolean {
  return value
    .split('x')
    .map(Number)
    .every(
      (d) =>
        d >= resolutionLimits.min &&
        d <= resolutionLimits.max &&
        d % resolutionLimits.multiple === 0,
    );
}

const modelSpec = z
  .object({
    source: z
      .object({
        pvc: z
          .object({
            claimName: name253.describe(
              'PersistentVolumeClaim holding the exported model directory.',
            ),
            subPath: z
              .string()
              .max(512)
              .regex(/^[^/].*$|^$/, 'must be a relative path')
              .optional()
              .describe(
                'Folder inside the claim that holds the model directory (zimage.json, tokenizer/, ...).',
              ),
          })
          .strict()
          .describe('Model files on a PersistentVolumeClaim, mounted read-only.'),
      })
      .strict()
      .describe('Where the exported ONNX model directory comes from.'),
    precision: z
      .enum(precisions)
      .default('bf16')
      .describe('Weight precision of the GPU graphs. Changing it rolls the pods.'),
  })
  .strict();

const runtimeSpec = z
  .object({
    image: z
      .string()
      .min(1)
      .max(512)
      .describe('Runtime container image. Changing it rolls the pods.'),
    imagePullPolicy: z
      .enum(['Always', 'IfNotPresent', 'Never'])
      .default('IfNotPresent')
      .describe('Image pull policy.'),
    executionProvider: z
      .enum(executionProviders)
      .default('cuda')
      .describe('ONNX Runtime execution provider. Changing it rolls the pods.'),
    attention: z
      .enum(attentionBackends)
      .default('flash')
      .describe(
        'Attention kernel (CUDA EP env switches; math = unfused graph). Changing it rolls the pods.',
      ),
    offload: z
      .enum(offloadModes)
      .default('none')
      .describe(
        'Offload mode: none (all resident), model (one component at a time), cpu (text encoder and VAE on CPU). Live: no restart.',
      ),
    steps: z
      .number()
      .int()
      .min(stepsRange.min)
      .max(stepsRange.max)
      .default(stepsRange.default)
      .describe('Diffusion scheduler steps (Turbo: 9 = 8 transformer forwards). Live: no restart.'),
    maxResolution: z
      .string()
      .max(9)
      .regex(/^[0-9]{3,4}x[0-9]{3,4}$/, 'must look like 1024x1024')
      .refine(resolutionOk, 'each side must be 256..2048 and a multiple of 16')
      .default('1024x1024')
      .meta(
        cel({ rule: resolutionRule, message: 'each side must be 256..2048 and a multiple of 16' }),
      )
      .describe('Largest image size a request may ask for, WIDTHxHEIGHT.'),
    maxQueue: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(8)
      .describe('Requests queued per pod before 429.'),
    requestTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(120)
      .describe(
        'Per-request deadline (504 after it). The termination grace period is derived from it.',
      ),
    resources: z
      .object({
        requests: z.record(z.string().max(253), intOrString).optional(),
        limits: z.record(z.string().max(253), intOrString).optional(),
      })
      .strict()
      .optional()
      .describe('Extra container resources (cpu, memory); GPU limits come from spec.gpu.'),
  })
  .strict();

const toleration = z
  .object({
    key: z.string().max(317).optional(),
    operator: z.enum(['Exists', 'Equal']).optional(),
    value: z.string().max(63).optional(),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
    tolerationSeconds: z.number().int().optional(),
  })
  .strict();

const gpuSpec = z
  .object({
    count: z.number().int().min(1).max(8).default(1).describe('GPUs per replica.'),
    resource: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[a-z0-9.-]+\/[a-z0-9._-]+$/, 'must be an extended resource name like nvidia.com/gpu')
      .default('nvidia.com/gpu')
      .describe('Extended resource name of the GPU.'),
    memoryGiB: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .default(80)
      .describe('Memory of one GPU; VRAM thresholds scale with it.'),
    nodeSelector: z
      .record(z.string().max(317), z.string().max(63))
      .optional()
      .describe('Node labels the pods must match.'),
    tolerations: z
      .array(toleration)
      .max(20)
      .optional()
      .describe('Tolerations for GPU node taints.'),
    runtimeClassName: name253.optional().describe('RuntimeClass (e.g. nvidia) for the pods.'),
  })
  .strict();

/** Signals the autoscaler reads; thresholds are validated per signal. */
export const signals = [
  'gpuUtilization',
  'vramUsedRatio',
  'latencyP95Seconds',
  'queueDepth',
] as const;

const thresholdRule = [
  "self.signal != 'gpuUtilization' || (self.threshold >= 0.0 && self.threshold <= 100.0)",
  "self.signal != 'vramUsedRatio' || (self.threshold > 0.0 && self.threshold <= 1.0)",
  "self.signal != 'latencyP95Seconds' || (self.threshold > 0.0 && self.threshold <= 3600.0)",
  "self.signal != 'queueDepth' || (self.threshold >= 0.0 && self.threshold <= 10000.0)",
].join(' && ');

const thresholdRange: Record<(typeof signals)[number], [number, number, boolean]> = {
  gpuUtilization: [0, 100, true],
  vramUsedRatio: [0, 1, false],
  latencyP95Seconds: [0, 3600, false],
  queueDepth: [0, 10000, true],
};

function thresholdOk(rule: { signal: (typeof signals)[number]; threshold: number }): boolean {
  const [min, max, inclusiveMin] = thresholdRange[rule.signal];
  return (inclusiveMin ? rule.threshold >= min : rule.threshold > min) && rule.threshold <= max;
}

const actionRule =
  "(self.type == 'Scale') == has(self.scale) && (self.type == 'Offload') == has(self.offload) && " +
  "(self.type == 'Attention') == has(self.attention) && (self.type == 'Steps') == has(self.steps)";

const action = z
  .object({
    type: z
      .enum(['Scale', 'Offload', 'Attention', 'Steps'])
      .describe('Which of the fields below applies.'),
    scale: z
      .object({
        by: z.number().int().min(-100).max(100).optional(),
        to: z.number().int().min(0).max(1000).optional(),
      })
      .strict()
      .meta(cel({ rule: 'has(self.by) != has(self.to)', message: 'set exactly one of by or to' }))
      .refine((s) => (s.by === undefined) !== (s.to === undefined), 'set exactly one of by or to')
      .optional()
      .describe('Change replicas by a delta or to a number.'),
    offload: z.enum(offloadModes).optional().describe('Switch the offload mode.'),
    attention: z
      .enum(attentionBackends)
      .optional()
      .describe('Switch the attention kernel (rolls the pods).'),
    steps: z
      .object({
        set: z.number().int().min(stepsRange.min).max(stepsRange.max).optional(),
        by: z.number().int().min(-49).max(49).optional(),
      })
      .strict()
      .meta(cel({ rule: 'has(self.set) != has(self.by)', message: 'set exactly one of set or by' }))
      .refine((s) => (s.set === undefined) !== (s.by === undefined), 'set exactly one of set or by')
      .optional()
      .describe('Set the steps, or move them by a delta.'),
  })
  .strict()
  .meta(cel({ rule: actionRule, message: 'the field named by type (and only it) must be set' }))
  .refine(
    (a) =>
      (a.type === 'Scale') === (a.scale !== undefined) &&
      (a.type === 'Offload') === (a.offload !== undefined) &&
      (a.type === 'Attention') === (a.attention !== undefined) &&
      (a.type === 'Steps') === (a.steps !== undefined),
    'the field named by type (and only it) must be set',
  );

const rule = z
  .object({
    name: name63.describe('Rule name, unique in the list.'),
    signal: z.enum(signals).describe('Signal the rule watches.'),
    operator: z
      .enum(['Above', 'Below'])
      .describe('Fire when the signal is above or below threshold.'),
    threshold: z
      .number()
      .describe(
        'Threshold (percent for gpuUtilization, 0..1 for vramUsedRatio, seconds for latency).',
      ),
    clearThreshold: z
      .number()
      .optional()
      .describe('Hysteresis: the rule clears only past this level. Default: threshold.'),
    for: z
      .string()
      .max(32)
      .regex(durationPattern, 'must be a duration like 5s')
      .default('5s')
      .describe('How long the condition must hold.'),
    cooldown: z
      .string()
      .max(32)
      .regex(durationPattern, 'must be a duration like 30s')
      .default('30s')
      .describe('Minimum time between two actions of this rule.'),
    action,
  })
  .strict()
  .meta(
    cel({
      rule: thresholdRule,
      message: 'threshold is out of range for the signal',
      fieldPath: '.threshold',
    }),
  )
  .refine(thresholdOk, {
    message: 'threshold is out of range for the signal',
    path: ['threshold'],
  });

const autoscalingSpec = z
  .object({
    mode: z
      .enum(['Off', 'DryRun', 'Enforce'])
      .default('Off')
      .describe('Off: spec.replicas rules; DryRun: decide and record only; Enforce: act.'),
    minReplicas: z.number().int().min(0).max(1000).default(1).describe('Lower bound for scaling.'),
    maxReplicas: z.number().int().min(1).max(1000).default(4).describe('Upper bound for scaling.'),
    interval: z
      .string()
      .max(32)
      .regex(durationPattern, 'must be a duration like 1s')
      .default('1s')
      .meta(
        cel({
          rule: "duration(self) >= duration('100ms') && duration(self) <= duration('5m')",
          message: 'must be between 100ms and 5m',
        }),
      )
      .refine(
        (d) => durationSeconds(d) >= 0.1 && durationSeconds(d) <= 300,
        'must be between 100ms and 5m',
      )
      .describe('How often signals are sampled and rules evaluated.'),
    metrics: z
      .object({
        prometheus: z
          .object({
            url: z
              .string()
              .max(2048)
              .regex(/^https?:\/\/\S+$/, 'must be an http(s) URL'),
          })
          .strict()
          .optional()
          .describe('Prometheus API for longer windows.'),
        direct: z
          .boolean()
          .default(true)
          .describe('Scrape pods and dcgm-exporter directly (1 s windows).'),
      })
      .strict()
      .prefault({})
      .describe('Where signals come from.'),
    rules: z
      .array(rule)
      .max(16)
      .meta(
        cel({
          rule: 'self.all(r, self.exists_one(o, o.name == r.name))',
          message: 'rule names must be unique',
        }),
      )
      .refine(
        (rs) => new Set(rs.map((r) => r.name)).size === rs.length,
        'rule names must be unique',
      )
      .optional()
      .describe(
        'Rules; the defaults (gpu-saturated, vram-pressure, slow-generation, idle) apply when omitted.',
      ),
  })
  .strict()
  .meta(
    cel({
      rule: '!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas',
      message: 'minReplicas must not exceed maxReplicas',
      fieldPath: '.minReplicas',
    }),
  )
  .refine((a) => a.minReplicas <= a.maxReplicas, {
    message: 'minReplicas must not exceed maxReplicas',
    path: ['minReplicas'],
  });

export const zimageDeploymentSpec = z
  .object({
    replicas: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(1)
      .describe(
        'Replicas (the scale subresource target). With autoscaling Enforce, the autoscaler writes it within min/max.',
      ),
    model: modelSpec.describe('The model the pods serve.'),
    runtime: runtimeSpec.describe('The runtime server and its settings.'),
    gpu: gpuSpec.prefault({}).describe('GPU request and placement.'),
    imagePullSecrets: z
      .array(z.object({ name: name253 }).strict())
      .max(10)
      .optional()
      .describe('Secrets for pulling the runtime image.'),
    autoscaling: autoscalingSpec.prefault({}).describe('The autoscaler and its rules.'),
  })
  .strict();

export type ZImageDeploymentSpec = z.infer<typeof zimageDeploymentSpec>;
export type ZImageDeploymentSpecInput = z.input<typeof zimageDeploymentSpec>;
export type Rule = z.infer<typeof rule>;
export type Action = z.infer<typeof action>;
export { intOrString };
