/**
 * The router as the operator deploys it (spec.router), on the live fleet: real runtime processes
 * on the tiny model behind real router processes the pod runner starts from the operator image.
 * Unpaced, so the images take the tiny model's own time.
 */
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routerMetrics } from '../../src/contract/metrics.ts';
import { routerSelectorLabels, selectorString } from '../../src/operator/api/v1alpha1/names.ts';
import { eventually, isReady } from '../support/k8s.ts';
import { fleetSpec, startTestFleet, type TestFleet } from '../support/fleet.ts';
import { condition, waitForCondition } from '../support/zid.ts';

let fleet: TestFleet;
const name = 'routed';
const routerSelector = Object.entries(routerSelectorLabels(name))
  .map(([k, v]) => `${k}=${v}`)
  .join(',');

interface ImagesBody {
  data: { b64_json: string; seed: number }[];
}

beforeAll(async () => {
  fleet = await startTestFleet(`router-${process.pid}`, { pacing: false });
  // No spec.router: the default runs two routers in front of the pods.
  const { router: _off, ...spec } = fleetSpec(3);
  await fleet.zid.create(fleet.namespace, name, {
    ...spec,
    runtime: { ...spec.runtime, maxImagesPerRequest: 8 },
  });
}, 240_000);
afterAll(async () => {
  await fleet?.stop();
});

const podsBy = async (labelSelector: string) =>
  (await fleet.core.listNamespacedPod({ namespace: fleet.namespace, labelSelector })).items;

const readyBy = (labelSelector: string, count: number) =>
  eventually(
    `${count} Ready pods ${labelSelector}`,
    async () => {
      const pods = (await podsBy(labelSelector)).filter((p) => !p.metadata?.deletionTimestamp);
      return pods.length === count && pods.every(isReady) ? pods : undefined;
    },
    180_000,
  );

async function generate(pod: V1Pod, request: Record<string, unknown>) {
  const res = await fetch(`http://${pod.status!.podIP!}:8080/v1/images/generations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });
  return { status: res.status, body: (await res.json()) as ImagesBody };
}

/** Images this router has sent to the pod, from its /metrics. */
async function dispatchesTo(router: V1Pod, pod: string): Promise<number> {
  const text = await (await fetch(`http://${router.status!.podIP!}:8080/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${routerMetrics.dispatches}{pod="${pod}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('spec.router on the live fleet', () => {
  it('runs the routers, Ready once they are, with RouterReady and the Routers column', async () => {
    await readyBy(selectorString(name), 3);
    const routers = await readyBy(routerSelector, 2);
    expect(routers.map((p) => p.spec?.serviceAccountName)).toEqual([
      `${name}-router`,
      `${name}-router`,
    ]);
    const obj = await waitForCondition(
      fleet.cluster.kubeConfig,
      fleet.namespace,
      name,
      'RouterReady',
      'True',
      'RoutersReady',
      120_000,
    );
    expect(obj.status?.router?.ready).toBe('2/2');
    // The Deployment's count of Ready pods may trail its pods by a status write.
    const ready = await waitForCondition(
      fleet.cluster.kubeConfig,
      fleet.namespace,
      name,
      'Ready',
      'True',
      'Available',
    );
    expect(condition(ready, 'RouterReady')?.status).toBe('True');
    expect(fleet.kubectl('get', 'zid', name)).toMatch(/ROUTERS[\s\S]*2\/2/);
  }, 300_000);

  it('spreads an n=8 request over the pods and answers the images one pod makes directly', async () => {
    const [router] = await readyBy(routerSelector, 2);
    const runtimes = await readyBy(selectorString(name), 3);
    const podNames = runtimes.map((p) => p.metadata!.name!);
    const before = await Promise.all(podNames.map((p) => dispatchesTo(router!, p)));
    const request = { prompt: 'a red fox in snow', size: '128x128', n: 8, seed: 11 };
    const via = await generate(router!, request);
    const after = await Promise.all(podNames.map((p) => dispatchesTo(router!, p)));
    const direct = await generate(runtimes[0]!, request);
    expect(via.status, JSON.stringify(via.body)).toBe(200);
    expect(direct.status).toBe(200);
    expect(via.body.data.map((d) => d.seed)).toEqual([11, 12, 13, 14, 15, 16, 17, 18]);
    expect(via.body.data.map((d) => d.b64_json)).toEqual(direct.body.data.map((d) => d.b64_json));
    // Eight images, one slot per pod: every pod took some of them.
    const sent = after.map((n, i) => n - before[i]!);
    expect(sent.reduce((a, b) => a + b, 0)).toBe(8);
    expect(sent.filter((n) => n > 0).length).toBe(3);
  });

  it.each<[string, string, string?]>([
    ['no prompt', '{"size":"64x64"}'],
    ['a typo in a field name', '{"prompt":"x","step":4}'],
    ['too many images', '{"prompt":"x","n":64}'],
    ['prototype pollution', '{"prompt":"x","__proto__":{"a":1}}'],
    ['not JSON', '{"prompt":'],
    ['wrong content type', 'prompt=x', 'text/plain'],
  ])('answers a hostile body as its runtime pods do: %s', async (_name, body, type) => {
    const [router] = await readyBy(routerSelector, 2);
    const [runtime] = await readyBy(selectorString(name), 3);
    const post = async (pod: V1Pod) => {
      const res = await fetch(`http://${pod.status!.podIP!}:8080/v1/images/generations`, {
        method: 'POST',
        headers: { 'content-type': type ?? 'application/json' },
        body,
      });
      return [res.status, ((await res.json()) as { error: unknown }).error];
    };
    const via = await post(router!);
    expect(via[0]).toBeGreaterThanOrEqual(400);
    expect(via[0]).toBeLessThan(500);
    expect(via).toEqual(await post(runtime!));
  });

  it('loses nothing when a runtime pod is deleted under load', async () => {
    const routers = await readyBy(routerSelector, 2);
    const router = routers[0];
    const [victim] = await readyBy(selectorString(name), 3);
    const request = { prompt: 'a lighthouse', size: '512x512', n: 4, seed: 5, steps: 30 };
    const victimName = victim!.metadata!.name!;
    const before = await dispatchesTo(router!, victimName);
    let answered = false;
    const answer = generate(router!, request).finally(() => (answered = true));
    // Load through both routers until the request is answered: two clients each.
    const load = Promise.all(
      [...routers, ...routers].map(async (r, i) => {
        const statuses: number[] = [];
        for (let seed = 1000 * i; !answered; seed++) {
          const got = await generate(r, { prompt: 'a gull', size: '64x64', n: 2, seed });
          statuses.push(got.status);
        }
        return statuses;
      }),
    );
    // Delete the pod only once it holds an image of this request.
    await eventually(
      `an image on ${victimName}`,
      async () => ((await dispatchesTo(router!, victimName)) > before ? true : undefined),
      30_000,
    );
    expect(answered).toBe(false);
    await fleet.core.deleteNamespacedPod({
      namespace: fleet.namespace,
      name: victimName,
    });
    const { status, body } = await answer;
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.data.map((d) => d.seed)).toEqual([5, 6, 7, 8]);
    const statuses = (await load).flat();
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  }, 180_000);

  it("the autoscaler reads the routers: the clients' wait and arrivals in status.signals", async () => {
    await fleet.zid.patchSpec(fleet.namespace, name, {
      autoscaling: { mode: 'DryRun', minReplicas: 1, maxReplicas: 3, metrics: { direct: true } },
    });
    const routers = await readyBy(routerSelector, 2);
    // Keep images coming through both routers while the autoscaler samples them.
    let sending = true;
    const traffic = Promise.all(
      routers.map(async (router, i) => {
        let seed = 100 * i;
        while (sending)
          await generate(router, { prompt: 'a kite', size: '64x64', n: 2, seed: seed++ });
      }),
    );
    try {
      const signals = await eventually(
        "status.signals with the clients' wait and the routers' arrivals",
        async () => {
          const s = (await fleet.zid.get(fleet.namespace, name)).status?.signals;
          return s?.waitP95Seconds !== undefined && (s.arrivedImagesPerSecond ?? 0) > 0
            ? s
            : undefined;
        },
        60_000,
      );
      // Read from the routers, not the pods: images waited at least as long as they generated.
      expect(signals.waitP95Seconds).toBeGreaterThan(0);
      expect(signals.routerQueuedImages).toBeGreaterThanOrEqual(0);
      expect(signals.routerQueuedWorkSeconds).toBeGreaterThanOrEqual(0);
    } finally {
      sending = false;
      await traffic;
    }
    const obj = await fleet.zid.get(fleet.namespace, name);
    const available = condition(obj, 'MetricsAvailable');
    // The routers' signals are there; what may be missing is GPU data, never a router signal.
    expect(available?.message ?? '').not.toMatch(/waitP95Seconds|router/);
    await fleet.zid.patchSpec(fleet.namespace, name, { autoscaling: { mode: 'Off' } });
  }, 180_000);

  it('turned off: its children go and the Service points at the runtime pods again', async () => {
    await fleet.zid.patchSpec(fleet.namespace, name, { router: { enabled: false } });
    const service = await eventually(
      'Service back on the runtime pods, the router children gone',
      async () => {
        const services = await fleet.core.listNamespacedService({ namespace: fleet.namespace });
        const byName = new Map(
          services.items.map((s): [string, V1Service] => [s.metadata!.name!, s]),
        );
        const client = byName.get(name);
        const routers = await podsBy(routerSelector);
        const gone = !byName.has(`${name}-pods`) && routers.length === 0;
        return gone && client?.spec?.selector?.['app.kubernetes.io/name'] === 'zimage-runtime'
          ? client
          : undefined;
      },
      120_000,
    );
    expect(service.spec?.selector).toEqual({
      'app.kubernetes.io/name': 'zimage-runtime',
      'app.kubernetes.io/instance': name,
    });
    for (const what of ['deployment', 'pdb', 'serviceaccount', 'role', 'rolebinding']) {
      expect(fleet.kubectl('get', what, '-o', 'name')).not.toContain(`${name}-router`);
    }
    const obj = await fleet.zid.get(fleet.namespace, name);
    expect(condition(obj, 'RouterReady')).toBeUndefined();
    expect(obj.status?.router).toBeUndefined();
  }, 180_000);
});
