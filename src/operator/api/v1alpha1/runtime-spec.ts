/** spec.runtime: the runtime server's image, settings and extra container resources. */
import { z } from 'zod';
import {
  attentionBackends,
  defaultAttention,
  executionProviders,
  imagesPerRequestRange,
  offloadModes,
  stepsRange,
} from '../../../contract/runtime.ts';
import { parseSize, sizePatternSource, type Size } from '../../../contract/size.ts';
import { containerResources, defaultsText } from './resources-spec.ts';
import { cel } from './schema-kit.ts';

/** Resolution bounds: 256..2048 px per side, a multiple of 16 (VAE 8x down, 2x2 patches). */
export const resolutionLimits = { min: 256, max: 2048, multiple: 16 } as const;

const { min, max, multiple } = resolutionLimits;
/** The runtime's own spelling (contract/size.ts), so every size the CRD admits starts a pod. */
const resolutionRules = cel(
  {
    rule: `self.matches('${sizePatternSource}')`,
    message: 'must be WIDTHxHEIGHT in pixels without spaces or leading zeros, e.g. 1024x1024',
  },
  {
    rule: `!self.matches('${sizePatternSource}') || self.split('x').all(d, int(d) >= ${min} && int(d) <= ${max} && int(d) % ${multiple} == 0)`,
    message: `each side must be ${min}..${max} and a multiple of ${multiple}`,
  },
);

/**
 * An image reference as the container runtime parses it (distribution's reference grammar):
 * [registry[:port]/]path[:tag][@algorithm:hex]. Registry components may hold capitals, path
 * components only lower case; whitespace fits nowhere. IPv6 registry hosts are not supported.
 */
const registry =
  '[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?([.][a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*(:[0-9]+)?/';
const pathComponent = '[a-z0-9]+(([_.]|__|[-]+)[a-z0-9]+)*';
const tag = ':[A-Za-z0-9_][-A-Za-z0-9_.]{0,127}';
const digest = '@[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
export const imageReferencePattern = `^(${registry})?${pathComponent}(/${pathComponent})*(${tag})?(${digest})?$`;

/**
 * Container resources the builder sets unless spec.runtime.resources overrides them. Host
 * memory for the largest offload mode: `cpu` offload keeps the Qwen3-4B text encoder (~16 GB in
 * fp32: the CPU EP has no bf16 kernels) and the VAE decoder (~0.3 GB) in host memory, plus ORT
 * arenas and one decoded 1024^2 image: 24 GiB covers it with ~6 GiB of slack. Requested up
 * front so a live switch to `cpu` offload never gets the pod OOM-killed.
 */
export const resourceDefaults = {
  requests: { cpu: '4', memory: '24Gi' },
  limits: { memory: '32Gi' },
} as const;

export const runtimeSpec = z
  .object({
    image: z
      .string()
      .min(1)
      .max(512)
      .meta(
        cel({
          rule: `self.matches('${imageReferencePattern}')`,
          message:
            'must be an image reference [registry[:port]/]path[:tag][@sha256:digest] with a ' +
            'lower-case path and no whitespace, e.g. registry.example/zimage-runtime:0.1.0',
        }),
      )
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
      .default('1024x1024')
      .meta(resolutionRules)
      .describe('Largest image size a request may ask for, WIDTHxHEIGHT.'),
    maxImagesPerRequest: z
      .number()
      .int()
      .min(imagesPerRequestRange.min)
      .max(imagesPerRequestRange.max)
      .default(imagesPerRequestRange.default)
      .describe(
        'Most images one request may ask for (n); the pods and the router refuse more with 400. Changing it rolls the pods.',
      ),
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
    resources: containerResources(resourceDefaults, {
      requests: 'Resource requests, e.g. cpu: 8.',
      limits: 'Resource limits, e.g. memory: 48Gi.',
    }).describe(
      `Extra container resources (cpu, memory) over the defaults (${defaultsText(resourceDefaults)}); GPU limits come from spec.gpu.`,
    ),
  })
  .strict();

/**
 * spec.runtime.maxResolution as a size. The schema admits only what parseSize reads, so a
 * failure here is a spec that skipped validation.
 */
export function maxResolutionOf(runtime: { maxResolution: string }): Size {
  const size = parseSize(runtime.maxResolution);
  if (!size) throw new Error(`spec.runtime.maxResolution "${runtime.maxResolution}" is not WxH`);
  return size;
}
