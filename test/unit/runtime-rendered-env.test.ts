/**
 * A spec the CRD accepts must never render env the runtime refuses: the runtime exits 2 on a bad
 * variable and the pod crash-loops. Every valid spec of the shared table (test/support/specs.ts),
 * every enum value and every bound goes through buildDeployment, and the container env it
 * renders through the runtime's own loadConfig.
 */
import { describe, expect, it } from 'vitest';
import {
  attentionBackends,
  executionProviders,
  mountPaths,
  offloadModes,
  precisions,
  runtimePort,
} from '../../src/contract/runtime.ts';
import { maxResolutionOf } from '../../src/operator/api/v1alpha1/runtime-spec.ts';
import { zimageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import { childNames } from '../../src/operator/api/v1alpha1/names.ts';
import { loadConfig } from '../../src/runtime/config.ts';
import {
  renderedRuntimeEnv,
  runtimeContainerOf,
  zimageDeployment,
} from '../support/runtime-rendered-env.ts';
import { buildDeployment } from '../../src/operator/builders/deployment.ts';
import { effectiveOf } from '../../src/operator/autoscaling/decision.ts';
import type { ZImageDeployment } from '../../src/operator/api/v1alpha1/types.ts';
import { baseSpec, validSpecs } from '../support/specs.ts';

const noFile = (path: string): string => {
  throw new Error(`the rendered env names a file (${path}); mount it in the pod and test it here`);
};

/**
 * Files the env names must lie in a Secret volume mounted in the runtime container, under a
 * key the volume projects (kubelet would leave the pod ContainerCreating otherwise).
 */
function mountedFiles(cr: ZImageDeployment) {
  const volumes = buildDeployment(cr, effectiveOf(cr)).spec!.template.spec!.volumes ?? [];
  return (path: string): string => {
    for (const m of runtimeContainerOf(cr).volumeMounts ?? []) {
      if (!path.startsWith(`${m.mountPath}/`)) continue;
      const key = path.slice(m.mountPath.length + 1);
      const secret = volumes.find((v) => v.name === m.name)?.secret;
      if (secret?.items?.some((i) => i.key === key && i.path === key)) return 'a-token\n';
    }
    return noFile(path);
  };
}

const withRuntime = (runtime: Record<string, unknown>) => {
  const spec = baseSpec();
  return { ...spec, runtime: { ...spec.runtime, ...runtime } };
};

const rows: { name: string; spec: unknown }[] = [
  ...validSpecs.map(({ name, spec }) => ({ name: `valid spec: ${name}`, spec: spec() })),
  ...attentionBackends.map((attention) => ({
    name: `attention ${attention}`,
    spec: withRuntime({ attention }),
  })),
  ...executionProviders.map((executionProvider) => ({
    name: `execution provider ${executionProvider}`,
    spec: withRuntime({ executionProvider }),
  })),
  ...offloadModes.map((offload) => ({
    name: `offload ${offload}`,
    spec: withRuntime({ offload }),
  })),
  ...precisions.map((precision) => ({
    name: `precision ${precision}`,
    spec: { ...baseSpec(), model: { ...baseSpec().model, precision } },
  })),
  ...[
    { maxQueue: 1 },
    { maxQueue: 1000 },
    { requestTimeoutSeconds: 1 },
    { requestTimeoutSeconds: 3600 },
    { maxResolution: '256x256' },
    { maxResolution: '2048x2048' },
    { maxResolution: '256x2048' },
    { steps: 1 },
    { steps: 50 },
    { maxImagesPerRequest: 1 },
    { maxImagesPerRequest: 16 },
  ].map((bound) => ({ name: `bound ${JSON.stringify(bound)}`, spec: withRuntime(bound) })),
  ...[1, 16, 1024].map((memoryGiB) => ({
    name: `gpu.memoryGiB ${memoryGiB}`,
    spec: { ...baseSpec(), gpu: { memoryGiB } },
  })),
];

describe('the env the operator renders, read by the runtime', () => {
  it('covers the shared table and every enum value', () => {
    expect(rows.length).toBe(validSpecs.length + 4 + 3 + 3 + 2 + 11 + 3);
  });

  it.each(rows)('$name', ({ spec }) => {
    const cr = zimageDeployment(spec);
    const config = loadConfig(renderedRuntimeEnv(cr), mountedFiles(cr));
    const { runtime, model } = cr.spec;
    expect(config).toMatchObject({
      modelDir: mountPaths.model,
      executionProvider: runtime.executionProvider,
      attention: runtime.attention,
      precision: model.precision,
      maxResolution: maxResolutionOf(runtime),
      maxImagesPerRequest: runtime.maxImagesPerRequest,
      maxQueue: runtime.maxQueue,
      requestTimeoutSeconds: runtime.requestTimeoutSeconds,
      port: runtimePort,
      liveConfig: { configMap: childNames(cr.metadata.name).configMap, namespace: 'ml' },
      gpuMemoryGiB: cr.spec.gpu.memoryGiB,
      pacing: false,
    });
    expect(config.apiToken !== undefined).toBe(cr.spec.auth !== undefined);
  });

  // Spellings the runtime reads only in their plain form: if the CRD lets one through, the
  // operator must render it so that the runtime still starts.
  it.each(['0512x0512', '0256x1024', '1024x0256'])(
    'maxResolution %s: refused by the CRD, or rendered so the runtime reads it',
    (maxResolution) => {
      const spec = withRuntime({ maxResolution });
      const verdict = zimageDeploymentSpec.safeParse(spec);
      if (!verdict.success) {
        expect(verdict.error.issues.map((i) => i.path.join('.'))).toContain(
          'runtime.maxResolution',
        );
        return;
      }
      const [width, height] = maxResolution.split('x').map(Number);
      expect(loadConfig(renderedRuntimeEnv(zimageDeployment(spec)), noFile).maxResolution).toEqual({
        width,
        height,
      });
    },
  );
});
