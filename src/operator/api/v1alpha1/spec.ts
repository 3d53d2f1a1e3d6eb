/**
 * ZImageDeployment spec (zimage.dev/v1alpha1): the one source of truth. The CRD's OpenAPI
 * schema is generated from these zod schemas (see crd.ts); CEL rules ride along as
 * `x-kubernetes-validations` metadata, written once: the API server enforces them at
 * `kubectl apply`, and withCrdRules makes this schema evaluate the same rules (cel.ts), so the
 * operator gives the same verdict on objects admitted under an older CRD. The shared table in
 * test/support/specs.ts holds both judges to it.
 */
import { z } from 'zod';
import { precisions } from '../../../contract/runtime.ts';
import { authSpec } from './auth-spec.ts';
import { autoscalingSpec } from './autoscaling-spec.ts';
import { withCrdRules } from './crd-rules.ts';
import { gpuSpec } from './gpu-spec.ts';
import { networkPolicySpec } from './network-policy-spec.ts';
import { routerSpec } from './router-spec.ts';
import { runtimeSpec } from './runtime-spec.ts';
import { cel, name253 } from './schema-kit.ts';

export { resolutionLimits } from './runtime-spec.ts';

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
              .meta(
                // What the API server demands of a volume mount's subPath (no backsteps: the
                // mount must stay inside the claim).
                cel({
                  rule: "!self.startsWith('/') && !self.split('/').exists(e, e == '..')",
                  message:
                    "must be a relative path without '..' elements, e.g. models/z-image-turbo",
                }),
              )
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

/** spec.gpu.resource, as the API server sees it before or after defaulting. */
const gpuResourceExpr =
  "(has(self.gpu) && has(self.gpu.resource) ? self.gpu.resource : 'nvidia.com/gpu')";

/**
 * The GPU resource in spec.runtime.resources: the builder sets the limit from spec.gpu.count
 * over whatever the user wrote, so `limits: {nvidia.com/gpu: 5}` would be accepted and quietly
 * run with 1 (and a request above that count makes the Deployment invalid). Refused here,
 * naming the field that does set it.
 */
const gpuNotInResources = (side: 'limits' | 'requests') => ({
  rule:
    `!has(self.runtime) || !has(self.runtime.resources) || !has(self.runtime.resources.${side}) || ` +
    `!(${gpuResourceExpr} in self.runtime.resources.${side})`,
  message:
    'must not hold the GPU resource (spec.gpu.resource, default nvidia.com/gpu): the pods get spec.gpu.count GPUs; set spec.gpu.count instead',
  fieldPath: `.runtime.resources.${side}`,
});

export const zimageDeploymentSpec = withCrdRules(
  z
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
        // A list keyed by name, as in the pod spec: duplicates are refused here instead of
        // failing the Deployment's server-side apply (duplicate keys there are an HTTP 500).
        .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] })
        .optional()
        .describe('Secrets for pulling the runtime image.'),
      autoscaling: autoscalingSpec.prefault({}).describe('The autoscaler and its rules.'),
      router: routerSpec.prefault({}).describe('The router in front of the runtime pods.'),
      auth: authSpec
        .optional()
        .describe(
          'Bearer tokens for the image API, from a Secret (docs/operator.md, Security). Unset: no token is asked for.',
        ),
      networkPolicy: networkPolicySpec
        .prefault({})
        .describe('NetworkPolicies for the runtime pods and the routers (off by default).'),
    })
    .strict()
    .meta(
      cel(
        // Scale to zero needs something in front that holds a request while no pod runs: the
        // router buffers it and answers 429 with the pods' start time when it cannot wait; the
        // plain Service would have no endpoint and refuse the connection. Not tied to the
        // mode: minReplicas binds only in Enforce (DryRun and Off leave replicas to
        // spec.replicas), and a spec that keeps minReplicas 0 while autoscaling is switched
        // Off for a while is sane.
        {
          rule: '!has(self.autoscaling) || !has(self.autoscaling.minReplicas) || self.autoscaling.minReplicas > 0 || !has(self.router) || !has(self.router.enabled) || self.router.enabled',
          message:
            'minReplicas 0 (scale to zero) needs the router (spec.router.enabled: true): with no router, nothing holds requests while no pod runs; set minReplicas to 1 or more, or turn the router on',
          fieldPath: '.autoscaling.minReplicas',
        },
        // Demand is what the routers measure: without them a toDemand rule would hold forever.
        {
          rule: "!has(self.autoscaling) || !has(self.autoscaling.rules) || !self.autoscaling.rules.exists(r, r.signal == 'demandUtilization') || !has(self.router) || !has(self.router.enabled) || self.router.enabled",
          message:
            'a demandUtilization rule (scale to demand) needs the router (spec.router.enabled: true): the routers measure the demand',
          fieldPath: '.autoscaling.rules',
        },
        // Without routers the clients reach the pods themselves, with the client token: a pod
        // token of its own would lock them out (or, read as the pods' token, hand it to them).
        {
          rule: '!has(self.auth) || !has(self.auth.podTokenKey) || !has(self.router) || !has(self.router.enabled) || self.router.enabled',
          message:
            'podTokenKey is the token the routers send to the runtime pods: with spec.router.enabled false there are no routers and clients send the client token (clientTokenKey) to the pods; drop podTokenKey or turn the router on',
          fieldPath: '.auth.podTokenKey',
        },
        gpuNotInResources('limits'),
        gpuNotInResources('requests'),
      ),
    ),
);

export type ZImageDeploymentSpec = z.infer<typeof zimageDeploymentSpec>;
export type ZImageDeploymentSpecInput = z.input<typeof zimageDeploymentSpec>;
