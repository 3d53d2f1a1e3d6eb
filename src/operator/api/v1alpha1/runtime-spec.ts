/** spec.runtime: the runtime server's image, settings and extra container resources. */
import { z } from 'zod';
import {
  attentionBackends,
  defaultAttention,
  executionProviders,
  offloadModes,
  stepsRange,
} from '../../../contract/runtime.ts';
import { parseSize, sizePatternSource, type Size } from '../../../contract/size.ts';
import {
  boundedRecord,
  cel,
  isQualifiedName,
  isQuantityExpr,
  qualifiedNameHint,
  quantity,
} from './schema-kit.ts';

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

/** At most 16 resources a side: plenty for cpu, memory, ephemeral-storage and hugepages. */
const maxResources = 16;

/** `isQuantity(a) && isQuantity(b) ? a >= b : true`: bad values have their own message. */
const atLeast = (limit: string, request: string) =>
  `!(${isQuantityExpr(limit)}) || !(${isQuantityExpr(request)}) || ` +
  `quantity(${limit}).compareTo(quantity(${request})) >= 0`;

/** The user's value of a resource on one side, or the default there ('' when none). */
const given = (side: 'requests' | 'limits', name: string) =>
  `has(self.${side}) && '${name}' in self.${side}`;
const effective = (side: 'requests' | 'limits', name: string) => {
  const fallback = (resourceDefaults[side] as Record<string, string>)[name];
  return `(${given(side, name)} ? string(self.${side}['${name}']) : '${fallback ?? ''}')`;
};

/**
 * Limits at or above requests, as the API server demands of the Deployment's container. The
 * generic rule covers resources set on both sides; one rule per defaulted resource compares
 * the effective values (a 16Gi memory limit alone is below the 24Gi default request).
 */
function resourceRules() {
  const both = {
    rule:
      '!has(self.limits) || !has(self.requests) || self.limits.all(k, !(k in self.requests) || ' +
      `${atLeast('string(self.limits[k])', 'string(self.requests[k])')})`,
    message: 'each limit must be at least its request',
  };
  const names = new Set([
    ...Object.keys(resourceDefaults.requests),
    ...Object.keys(resourceDefaults.limits),
  ]);
  const defaulted = [...names].map((name) => {
    const [limit, request] = [effective('limits', name), effective('requests', name)];
    const defaults = (['limits', 'requests'] as const)
      .map(
        (side) =>
          `${side}.${name} ${(resourceDefaults[side] as Record<string, string>)[name] ?? 'unset'}`,
      )
      .join(', ');
    return {
      rule: `${limit} == '' || ${request} == '' || ${atLeast(limit, request)}`,
      message: `limits.${name} must be at least requests.${name} (defaults: ${defaults}): raise the limit or lower the request`,
    };
  });
  return cel(both, ...defaulted);
}

/** Unprefixed names a container may use (the API server's IsStandardContainerResourceName). */
const standardResources = ['cpu', 'memory', 'ephemeral-storage'];

const resourceList = (what: string) =>
  boundedRecord(quantity, maxResources)
    .meta(
      cel({
        rule:
          `self.all(k, ${isQualifiedName('k')} && (k.contains('/') || ` +
          `k in [${standardResources.map((r) => `'${r}'`).join(', ')}] || k.startsWith('hugepages-')))`,
        message:
          `resource names must be ${standardResources.join(', ')}, hugepages-<size>, or ` +
          `prefixed qualified names (${qualifiedNameHint})`,
      }),
    )
    .optional()
    .describe(what);

const defaultsText = `requests cpu ${resourceDefaults.requests.cpu}, memory ${resourceDefaults.requests.memory}; limits memory ${resourceDefaults.limits.memory}`;

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
        requests: resourceList('Resource requests, e.g. cpu: 8.'),
        limits: resourceList('Resource limits, e.g. memory: 48Gi.'),
      })
      .strict()
      .meta(resourceRules())
      .optional()
      .describe(
        `Extra container resources (cpu, memory) over the defaults (${defaultsText}); GPU limits come from spec.gpu.`,
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
