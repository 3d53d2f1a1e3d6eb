import { describe, expect, it } from 'vitest';
import { fleetEnv, liveConfigKey, runtimeEnv } from '../../src/contract/runtime.ts';
import { zimageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import type { ZImageDeployment } from '../../src/operator/api/v1alpha1/types.ts';
import { buildConfigMap, buildRole } from '../../src/operator/builders/children.ts';
import { buildDeployment } from '../../src/operator/builders/deployment.ts';
import {
  buildPrometheusRule,
  buildServiceMonitor,
} from '../../src/operator/builders/monitoring.ts';
import { promDuration } from '../../src/operator/signals/prometheus/promql.ts';
import { effectiveOf } from '../../src/operator/autoscaling/decision.ts';
import { loadConfig } from '../../src/runtime/config.ts';
import { renderedRuntimeEnv } from '../support/runtime-rendered-env.ts';
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

  it('renders maxImagesPerRequest only when it is not the runtime’s default (no roll on upgrade)', () => {
    const names = (z: ZImageDeployment) => podOf(z).spec!.containers[0]!.env!.map((e) => e.name);
    expect(names(cr())).not.toContain(runtimeEnv.maxImagesPerRequest);
    const eight = cr({ runtime: { ...baseSpec().runtime, maxImagesPerRequest: 8 } });
    expect(podOf(eight).spec!.containers[0]!.env).toContainEqual({
      name: runtimeEnv.maxImagesPerRequest,
      value: '8',
    });
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

  it.each([1, 60, 120, 3600])(
    'request timeout %i s: the kubelet kills only after preStop and the whole runtime drain, and start-up has 600 s',
    (requestTimeoutSeconds) => {
      const z = cr({ runtime: { ...baseSpec().runtime, requestTimeoutSeconds } });
      const pod = podOf(z).spec!;
      const preStop = pod.containers[0]!.lifecycle?.preStop?.sleep?.seconds ?? 0;
      // The runtime's own drain deadline, as it reads the env rendered for this pod.
      const { shutdownGraceSeconds } = loadConfig(renderedRuntimeEnv(z), () => {
        throw new Error('no files');
      });
      // SIGTERM comes after the preStop sleep; the runtime then drains for up to its grace
      // and exits (1 if work is left). A SIGKILL before that would cut a request it could
      // still have finished.
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(preStop + shutdownGraceSeconds);
      expect(preStop).toBeGreaterThan(0);
      expect(shutdownGraceSeconds).toBeGreaterThan(requestTimeoutSeconds);
      const probe = pod.containers[0]!.startupProbe!;
      expect(probe.periodSeconds! * probe.failureThreshold!).toBe(600);
    },
  );

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

describe('runtime RBAC', () => {
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
});

type Alert = { alert: string; expr: string; for: string; labels: Record<string, string> };
const alertsOf = (z: ZImageDeployment) =>
  (buildPrometheusRule(z).spec['groups'] as { rules: Alert[] }[])[0]!.rules;

describe('ServiceMonitor and PrometheusRule', () => {
  it('copies the pod instance label onto every series as zimage_deployment', () => {
    const endpoints = buildServiceMonitor(cr()).spec['endpoints'] as Record<string, unknown>[];
    expect(endpoints[0]!['relabelings']).toEqual([
      {
        action: 'replace',
        sourceLabels: ['__meta_kubernetes_pod_label_app_kubernetes_io_instance'],
        targetLabel: 'zimage_deployment',
      },
    ]);
  });

  it('renders one alert per default rule, with its window and a severity', () => {
    const unrouted = cr({ router: { enabled: false } });
    expect(alertsOf(unrouted).map((a) => [a.alert, a.for, a.labels['severity']])).toEqual([
      ['ZImageGpuSaturated', '5s', 'warning'],
      ['ZImageVramPressure', '5s', 'warning'],
      ['ZImageSlowGeneration', '30s', 'warning'],
      ['ZImageIdle', '5m', 'info'],
    ]);
  });

  it('with the router, alerts on the routed defaults but not on the demand rule (it scales, it does not page)', () => {
    expect(alertsOf(cr()).map((a) => a.alert)).toEqual([
      'ZImageVramPressure',
      'ZImageSlowGeneration',
    ]);
  });

  it('selects its own instance by label, never by a pod name prefix', () => {
    for (const { alert, expr } of alertsOf(cr())) {
      expect(expr, alert).toContain('zimage_deployment="turbo"');
      expect(expr, alert).not.toContain('pod=~');
    }
  });

  it('measures VRAM as a ratio of the card itself, so it holds for any memoryGiB', () => {
    const vram = (memoryGiB: number) =>
      alertsOf(cr({ gpu: { memoryGiB } })).find((a) => a.alert === 'ZImageVramPressure')!.expr;
    expect(vram(16)).toContain('DCGM_FI_DEV_FB_USED{namespace="ml"} + DCGM_FI_DEV_FB_FREE');
    expect(vram(16)).toContain('> 0.875) or');
    expect(vram(80)).toBe(vram(16));
  });

  it("renders the object's own rules instead of the defaults", () => {
    const rules = [
      {
        name: 'queue-long',
        signal: 'queueDepth',
        operator: 'Above',
        threshold: 10,
        for: '1.5s',
        action: { type: 'Steps', steps: { by: -1 } },
      },
    ];
    const [alert, ...rest] = alertsOf(cr({ autoscaling: { rules } }));
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({
      alert: 'ZImageQueueLong',
      // No clearThreshold: no hysteresis branch.
      expr: 'sum by (namespace, zimage_deployment) (zimage_queue_depth{namespace="ml", zimage_deployment="turbo"}) > 10',
      for: '1s500ms',
    });
  });

  it.each([
    ['5s', '5s'],
    ['500ms', '500ms'],
    ['1.5s', '1s500ms'],
    ['90s', '1m30s'],
    ['30s1m', '1m30s'],
    ['2h', '2h'],
  ])('writes the spec duration %s as Prometheus parses it: %s', (spec, prom) => {
    expect(promDuration(spec)).toBe(prom);
  });
});
