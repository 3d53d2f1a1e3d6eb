import { describe, expect, it } from 'vitest';
import { fleetEnv, liveConfigKey, runtimeEnv } from '../../src/contract/runtime.ts';
import { zimageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import type { ZImageDeployment } from '../../src/operator/api/v1alpha1/types.ts';
import { buildConfigMap, buildRole } from '../../src/operator/builders/children.ts';
import {
  buildDeployment,
  terminationGraceSeconds,
} from '../../src/operator/builders/deployment.ts';
import { buildPrometheusRule } from '../../src/operator/builders/monitoring.ts';
import { effectiveOf } from '../../src/operator/reconcile.ts';
import { baseSpec } from '../support/specs.ts';

function cr(extra: Record<string, unknown> = {}): ZImageDeployment {
  return {
    metadata: { name: 'turbo', namespace: 'ml', uid: 'u-1' },
    spec: zimageDeploymentSpec.parse({ ...baseSpec(), ...extra }),
  };
}

const podOf = (z: ZImageDeployment) => buildDeployment(z, effectiveOf(z)).spec!.template;

describe('buildDeployment', () => {
  it('keeps steps and offload out of the pod template (live settings never restart pods)', () => {
    const a = cr();
    const b = cr({ runtime: { ...baseSpec().runtime, steps: 4, offload: 'cpu' } });
    expect(podOf(b)).toEqual(podOf(a));
    expect(buildConfigMap(b, effectiveOf(b)).data?.[liveConfigKey]).toBe(
      '{"steps":4,"offload":"cpu"}',
    );
  });

  it.each([
    ['attention', { runtime: { ...baseSpec().runtime, attention: 'math' } }],
    ['execution provider', { runtime: { ...baseSpec().runtime, executionProvider: 'webgpu' } }],
    ['image', { runtime: { ...baseSpec().runtime, image: 'other:2' } }],
    ['precision', { model: { ...baseSpec().model, precision: 'fp16' } }],
    ['model claim', { model: { source: { pvc: { claimName: 'other' } } } }],
  ])('rolls the pods when the %s changes', (_n, extra) => {
    expect(podOf(cr(extra))).not.toEqual(podOf(cr()));
  });

  it('satisfies Pod Security "restricted" with a read-only root and sized writable mounts', () => {
    const pod = podOf(cr()).spec!;
    const c = pod.containers[0]!;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.volumes?.filter((v) => v.emptyDir).every((v) => v.emptyDir?.sizeLimit)).toBe(true);
    expect(c.volumeMounts?.find((m) => m.name === 'model')?.readOnly).toBe(true);
  });

  it('requests the GPUs and enough host memory for the largest offload mode', () => {
    const c = podOf(cr({ gpu: { count: 2, resource: 'nvidia.com/gpu' } })).spec!.containers[0]!;
    expect(c.resources?.limits?.['nvidia.com/gpu']).toBe('2');
    expect(c.resources?.requests?.memory).toBe('24Gi');
  });

  it('derives the grace period from the request timeout, and budgets start-up for model load', () => {
    const pod = podOf(cr({ runtime: { ...baseSpec().runtime, requestTimeoutSeconds: 60 } })).spec!;
    expect(pod.terminationGracePeriodSeconds).toBe(terminationGraceSeconds(60));
    expect(terminationGraceSeconds(60)).toBeGreaterThan(60);
    const probe = pod.containers[0]!.startupProbe!;
    expect(probe.periodSeconds! * probe.failureThreshold!).toBe(600);
  });

  it('rolls one pod at a time without surging (no spare GPU needed)', () => {
    const d = buildDeployment(cr(), effectiveOf(cr()));
    expect(d.spec?.strategy?.rollingUpdate).toEqual({ maxSurge: 0, maxUnavailable: 1 });
  });

  it('passes placement from spec.gpu and tells the runtime its ConfigMap', () => {
    const z = cr({
      gpu: {
        nodeSelector: { 'nvidia.com/gpu.memory': '16384' },
        runtimeClassName: 'nvidia',
        tolerations: [{ key: 'x', operator: 'Exists' }],
      },
    });
    const pod = podOf(z).spec!;
    expect(pod.nodeSelector).toEqual({ 'nvidia.com/gpu.memory': '16384' });
    expect(pod.runtimeClassName).toBe('nvidia');
    expect(pod.tolerations).toEqual([{ key: 'x', operator: 'Exists' }]);
    expect(pod.containers[0]!.env).toContainEqual({
      name: runtimeEnv.configMap,
      value: 'turbo-runtime',
    });
  });

  it('tells the runtime its VRAM budget (spec.gpu.memoryGiB) and never turns pacing on', () => {
    const env = podOf(cr({ gpu: { memoryGiB: 16 } })).spec!.containers[0]!.env ?? [];
    expect(env).toContainEqual({ name: runtimeEnv.gpuMemoryGiB, value: '16' });
    const names = env.map((e) => e.name);
    expect(names).not.toContain(fleetEnv.pacing);
    expect(names).not.toContain(fleetEnv.gpuCard);
  });
});

describe('runtime RBAC and alert rules', () => {
  it('lets the runtime read exactly its own ConfigMap', () => {
    expect(buildRole(cr()).rules).toEqual([
      {
        apiGroups: [''],
        resources: ['configmaps'],
        resourceNames: ['turbo-runtime'],
        verbs: ['get', 'list', 'watch'],
      },
    ]);
  });

  it('scales the VRAM alert with the card: 87.5% of 16 GiB is 14336 MiB', () => {
    const rule = buildPrometheusRule(cr({ gpu: { memoryGiB: 16 } }));
    const groups = rule.spec['groups'] as { rules: { alert: string; expr: string }[] }[];
    expect(groups[0]!.rules.find((r) => r.alert === 'ZImageVramPressure')?.expr).toContain(
      '> 14336',
    );
  });
});
