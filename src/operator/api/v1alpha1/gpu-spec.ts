/** spec.gpu: the GPU request and where the pods may run. */
import { z } from 'zod';
import {
  boundedRecord,
  cel,
  isQualifiedName,
  labelValueHint,
  labelValuePattern,
  name253,
  qualifiedNameHint,
} from './schema-kit.ts';

/**
 * The API server's own toleration checks for pods (ValidateTolerations), here so that a spec
 * it would refuse for the Deployment is refused at `kubectl apply` instead.
 */
const tolerationRules = cel(
  {
    rule: `!has(self.key) || self.key == '' || (${isQualifiedName('self.key')})`,
    message: `key must be a qualified name: ${qualifiedNameHint}`,
    fieldPath: '.key',
  },
  {
    rule: "(has(self.key) && self.key != '') || (has(self.operator) && self.operator == 'Exists')",
    message:
      'an empty key needs operator Exists (which tolerates every taint): set a key or use Exists',
    fieldPath: '.operator',
  },
  {
    rule: "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
    message: 'value must be empty when operator is Exists: drop the value or use Equal',
    fieldPath: '.value',
  },
  {
    rule: "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
    message: 'tolerationSeconds needs effect NoExecute: drop it or set effect NoExecute',
    fieldPath: '.tolerationSeconds',
  },
);

const labelValue = (what: string) =>
  z
    .string()
    .max(63)
    .meta(
      cel({ rule: `self.matches('${labelValuePattern}')`, message: `must be ${labelValueHint}` }),
    )
    .describe(what);

const toleration = z
  .object({
    key: z
      .string()
      .max(317)
      .optional()
      .describe('Taint key to tolerate; empty with Exists matches all.'),
    operator: z.enum(['Exists', 'Equal']).optional().describe('Exists or Equal (default Equal).'),
    value: labelValue('Taint value for Equal.').optional(),
    effect: z
      .enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'])
      .optional()
      .describe('Taint effect to tolerate; empty matches all.'),
    tolerationSeconds: z
      .number()
      .int()
      .optional()
      .describe('For NoExecute: how long the pod stays bound.'),
  })
  .strict()
  .meta(tolerationRules);

/** 32 labels: far more than any GPU placement needs, and a bound for the key rule's cost. */
const maxNodeSelectorLabels = 32;

export const gpuSpec = z
  .object({
    count: z.number().int().min(1).max(8).default(1).describe('GPUs per replica.'),
    resource: z
      .string()
      .min(1)
      .max(253)
      .default('nvidia.com/gpu')
      .meta(
        cel({
          rule: `self.contains('/') && ${isQualifiedName('self')}`,
          message: `must be an extended resource name like nvidia.com/gpu: ${qualifiedNameHint}`,
        }),
      )
      .describe('Extended resource name of the GPU.'),
    memoryGiB: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .default(80)
      .describe('Memory of one GPU; VRAM thresholds scale with it.'),
    nodeSelector: boundedRecord(labelValue('A label value.'), maxNodeSelectorLabels)
      .meta(
        cel({
          rule: `self.all(k, ${isQualifiedName('k')})`,
          message: `keys must be label keys: ${qualifiedNameHint}`,
        }),
      )
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
