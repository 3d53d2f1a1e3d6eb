/**
 * ZImageDeployment spec (zimage.dev/v1alpha1): the one source of truth. The CRD's OpenAPI
 * schema is generated from these zod schemas (see crd.ts); CEL rules ride along as
 * `x-kubernetes-validations` metadata and are mirrored by zod refinements, so the API server
 * and the operator give the same verdict (a table test holds them to it).
 */
import { z } from 'zod';
import {
  attentionBackends,
  defaultAttention,
  executionProviders,
  offloadModes,
  precisions,
  stepsRange,
} from '../../../contract/runtime.ts';
import { autoscalingSpec } from './autoscaling.ts';
import { cel, intOrString, name253 } from './schema-kit.ts';

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
      .default(defaultAttention)
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
        requests: z
          .record(z.string().max(253), intOrString)
          .optional()
          .describe('Resource requests, e.g. cpu: 8.'),
        limits: z
          .record(z.string().max(253), intOrString)
          .optional()
          .describe('Resource limits, e.g. memory: 48Gi.'),
      })
      .strict()
      .optional()
      .describe('Extra container resources (cpu, memory); GPU limits come from spec.gpu.'),
  })
  .strict();

const toleration = z
  .object({
    key: z
      .string()
      .max(317)
      .optional()
      .describe('Taint key to tolerate; empty with Exists matches all.'),
    operator: z.enum(['Exists', 'Equal']).optional().describe('Exists or Equal (default Equal).'),
    value: z.string().max(63).optional().describe('Taint value for Equal.'),
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
      .array(z.object({ name: name253.describe('Secret name.') }).strict())
      .max(10)
      .optional()
      .describe('Secrets for pulling the runtime image.'),
    autoscaling: autoscalingSpec.prefault({}).describe('The autoscaler and its rules.'),
  })
  .strict();

export type ZImageDeploymentSpec = z.infer<typeof zimageDeploymentSpec>;
export type ZImageDeploymentSpecInput = z.input<typeof zimageDeploymentSpec>;
export { intOrString };
