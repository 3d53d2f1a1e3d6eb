/**
 * The router's builders: a pod that passes Pod Security "restricted", runs the router's entry
 * point with the runtime's limits under the runtime's names, drains within its grace, discovers
 * exactly the runtime pods, and a plan that holds the router children only while it is on.
 */
import { describe, expect, it } from 'vitest';
import { defaultPodStartSeconds, routerEnv } from '../../src/contract/router.ts';
import { runtimeEnv } from '../../src/contract/runtime.ts';
import { zimageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import type { ZImageDeployment } from '../../src/operator/api/v1alpha1/types.ts';
import { selectorLabels, selectorString } from '../../src/operator/api/v1alpha1/names.ts';
import { childPlan } from '../../src/operator/apply-plan.ts';
import { effectiveOf } from '../../src/operator/autoscaling/decision.ts';
import { buildDeployment } from '../../src/operator/builders/deployment.ts';
import { podStartSeconds } from '../../src/operator/builders/pod-start.ts';
import { buildRouterDeployment, buildRouterRole } from '../../src/operator/builders/router.ts';
import { routerConfigSchema } from '../../src/router/config.ts';
import { modelOf } from '../../src/sim/model.ts';
import { baseSpec } from '../support/specs.ts';

const image = { image: 'registry.example/zimage-operator:9.9.9' };

function cr(
  router: Record<string, unknown> = {},
  runtime: Record<string, unknown> = {},
  more: Record<string, unknown> = {},
) {
  const spec = baseSpec();
  const z: ZImageDeployment = {
    metadata: { name: 'turbo', namespace: 'ml', uid: 'u-1' },
    spec: zimageDeploymentSpec.parse({
      ...spec,
      runtime: { ...spec.runtime, ...runtime },
      router: { enabled: true, ...router },
      ...more,
    }),
  };
  return z;
}

const podOf = (z: ZImageDeployment) => buildRouterDeployment(z, image).spec!.template;
const envOf = (z: ZImageDeployment) =>
  Object.fromEntries(
    (podOf(z).spec!.containers[0]!.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]),
  );

describe('buildRouterDeployment', () => {
  it('satisfies Pod Security "restricted" with a read-only root and a sized /tmp, and no GPU', () => {
    const pod = podOf(cr()).spec!;
    const c = pod.containers[0]!;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }]);
    expect(Object.keys(c.resources?.limits ?? {})).toEqual(['memory']);
    expect(pod.serviceAccountName).toBe('turbo-router');
  });

  it('runs the router from the given image, probed on /readyz and /healthz of port http 8080', () => {
    const c = podOf(cr()).spec!.containers[0]!;
    expect(c.image).toBe(image.image);
    expect(c.command).toEqual(['/usr/local/bin/node', 'src/router/main.ts']);
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
  });

  it('spreads the routers across nodes, selecting router pods only', () => {
    const d = buildRouterDeployment(cr({ replicas: 3 }), image);
    expect(d.spec?.replicas).toBe(3);
    const [spread] = d.spec!.template.spec!.topologySpreadConstraints!;
    expect(spread).toMatchObject({
      maxSkew: 1,
      topologyKey: 'kubernetes.io/hostname',
      whenUnsatisfiable: 'ScheduleAnyway',
    });
    // Router pods never match the runtime's selector (Service <name>-pods, PDB, scale).
    const labels = d.spec!.template.metadata!.labels!;
    const runtime = Object.entries(selectorLabels('turbo'));
    expect(runtime.every(([k, v]) => labels[k] === v)).toBe(false);
    expect(labels['app.kubernetes.io/component']).toBe('router');
  });

  it.each([
    { name: 'defaults', router: {}, runtime: {} },
    {
      name: 'the runtime limits and the queue bounds moved',
      router: { maxQueue: 500, podSlots: 2 },
      runtime: {
        maxResolution: '2048x1024',
        maxImagesPerRequest: 8,
        requestTimeoutSeconds: 300,
        steps: 4,
      },
    },
  ])('renders env the router reads as the runtime does ($name)', ({ router, runtime }) => {
    const z = cr(router, runtime);
    const env = envOf(z);
    const runtimeEnvs = Object.fromEntries(
      (buildDeployment(z, effectiveOf(z)).spec!.template.spec!.containers[0]!.env ?? []).map(
        (e) => [e.name, e.value],
      ),
    );
    // One source: the runtime's own rendering of its limits and deadline.
    for (const name of [
      runtimeEnv.maxResolution,
      runtimeEnv.maxImagesPerRequest,
      runtimeEnv.requestTimeoutSeconds,
    ])
      expect(env[name], name).toBe(runtimeEnvs[name]);
    expect(env[routerEnv.podSelector]).toBe(selectorString('turbo'));
    expect(env[runtimeEnv.namespace]).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
    // The router parses what the operator renders (the downward API filled in).
    const config = routerConfigSchema.parse({
      namespace: 'ml',
      podSelector: env[routerEnv.podSelector],
      maxQueue: env[routerEnv.maxQueue],
      slots: env[routerEnv.slots],
      maxResolution: env[runtimeEnv.maxResolution],
      maxImagesPerRequest: env[runtimeEnv.maxImagesPerRequest],
      requestTimeoutSeconds: env[runtimeEnv.requestTimeoutSeconds],
      steps: env[runtimeEnv.steps],
      port: env[routerEnv.port],
    });
    expect(config).toMatchObject({
      maxQueue: z.spec.router.maxQueue,
      slots: z.spec.router.podSlots,
      maxImagesPerRequest: z.spec.runtime.maxImagesPerRequest,
      requestTimeoutSeconds: z.spec.runtime.requestTimeoutSeconds,
      steps: z.spec.runtime.steps,
      port: 8080,
    });
  });

  it.each([1, 120, 3600])(
    'request timeout %i s: the kubelet kills only 15 s after the longest admitted request',
    (requestTimeoutSeconds) => {
      const pod = podOf(cr({}, { requestTimeoutSeconds })).spec!;
      expect(pod.terminationGracePeriodSeconds).toBe(requestTimeoutSeconds + 15);
    },
  );
});

describe("the routers' pod start (ZIMAGE_ROUTER_POD_START_SECONDS, the Retry-After at zero pods)", () => {
  const h100 = { gpu: { nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' } } };
  const small = { gpu: { memoryGiB: 16 } };
  it.each([
    // 20.44 GB of bf16 weights at 200 MB/s = 102.2 s, then one warm-up image at maxResolution.
    { name: 'the default spec (H100, 1024x1024): 102.2 + 1.2 s, the router default', want: 103 },
    {
      name: 'an H100 named by its product label, 512x512: 102.2 + 0.4 s',
      runtime: { maxResolution: '512x512' },
      more: h100,
      want: 103,
    },
    { name: 'the 16 GiB card: 102.2 + 8.3 s', more: small, want: 110 },
    {
      name: 'the 16 GiB card, offload model: + 9.7 s of session uploads',
      runtime: { offload: 'model' },
      more: small,
      want: 120,
    },
  ])('$name: $want s', ({ runtime, more, want }) => {
    const z = cr({}, runtime, more);
    expect(podStartSeconds(z.spec)).toBe(want);
    // The simulator waits the same start for a pod it adds (src/sim/model.ts).
    expect(Math.round(modelOf(z.spec).startupSeconds)).toBe(want);
    const rendered = envOf(z)[routerEnv.podStartSeconds];
    // Only where it differs from the router's own default: no roll on an operator upgrade.
    expect(rendered).toBe(want === defaultPodStartSeconds ? undefined : String(want));
    const config = routerConfigSchema.parse({
      namespace: 'ml',
      podSelector: 'a=b',
      ...(rendered === undefined ? {} : { podStartSeconds: rendered }),
    });
    expect(config.podStartSeconds).toBe(want);
  });
});

describe('router RBAC', () => {
  it('grants get, list and watch on pods, nothing else', () => {
    expect(buildRouterRole(cr()).rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
    ]);
  });
});

describe('childPlan with the router', () => {
  const ids = (z: ZImageDeployment) =>
    childPlan(z, effectiveOf(z), false, image).map((c) => `${c.id} ${c.obj.metadata?.name}`);
  const off = () => {
    const z = cr();
    return { ...z, spec: { ...z.spec, router: { ...z.spec.router, enabled: false } } };
  };

  const runtimeChildren = [
    'ServiceAccount turbo-runtime',
    'Role turbo-runtime-config',
    'RoleBinding turbo-runtime-config',
    'ConfigMap turbo-runtime',
    'Service turbo',
    'PodDisruptionBudget turbo',
    'Deployment turbo',
  ];

  it.each([
    {
      name: 'off: today’s children only',
      z: off,
      want: runtimeChildren,
    },
    {
      name: 'on: the router’s children first, then today’s',
      z: () => cr(),
      want: [
        'RouterServiceAccount turbo-router',
        'RouterRole turbo-router',
        'RouterRoleBinding turbo-router',
        'RouterPodDisruptionBudget turbo-router',
        'PodsService turbo-pods',
        'RouterDeployment turbo-router',
        ...runtimeChildren,
      ],
    },
  ])('$name', ({ z, want }) => {
    expect(ids(z())).toEqual(want);
  });

  it('leaves the runtime Deployment as it is when the router turns on', () => {
    const on = cr();
    const z = off();
    expect(buildDeployment(on, effectiveOf(on))).toEqual(buildDeployment(z, effectiveOf(z)));
  });
});
