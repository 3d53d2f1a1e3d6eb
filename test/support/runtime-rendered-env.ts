/**
 * The runtime container's environment as the kubelet would hand it over: the env the operator
 * renders (buildDeployment), with the downward-API fields resolved for one pod.
 */
import type { V1EnvVar } from '@kubernetes/client-node';
import { zimageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import type { ZImageDeployment } from '../../src/operator/api/v1alpha1/types.ts';
import { buildDeployment } from '../../src/operator/builders/deployment.ts';
import { effectiveOf } from '../../src/operator/autoscaling/decision.ts';

/** A ZImageDeployment from a spec the CRD (its zod schema) accepts; throws otherwise. */
export function zimageDeployment(spec: unknown, name = 'turbo'): ZImageDeployment {
  return {
    metadata: { name, namespace: 'ml', uid: 'u-1' },
    spec: zimageDeploymentSpec.parse(spec),
  };
}

export function runtimeContainerOf(cr: ZImageDeployment) {
  const container = buildDeployment(cr, effectiveOf(cr)).spec?.template.spec?.containers.find(
    (c) => c.name === 'runtime',
  );
  if (!container) throw new Error('buildDeployment rendered no runtime container');
  return container;
}

/** name -> value, downward-API fields resolved as the kubelet would for pod `<name>-0`. */
export function renderedRuntimeEnv(cr: ZImageDeployment): Record<string, string> {
  const pod = {
    'metadata.namespace': cr.metadata.namespace,
    'metadata.name': `${cr.metadata.name}-0`,
  };
  return Object.fromEntries(
    (runtimeContainerOf(cr).env ?? []).map((v: V1EnvVar) => {
      if (v.value !== undefined) return [v.name, v.value];
      const field = v.valueFrom?.fieldRef?.fieldPath;
      const value = field === undefined ? undefined : pod[field as keyof typeof pod];
      // A new kind of source (a Secret, a resource field) must be resolved here, not skipped.
      if (value === undefined) throw new Error(`${v.name}: cannot resolve ${JSON.stringify(v)}`);
      return [v.name, value];
    }),
  );
}
