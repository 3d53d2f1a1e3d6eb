/**
 * Scale from zero on the live fleet (issue 19): a ZImageDeployment at zero runtime replicas
 * keeps its routers up and Ready and says so in status (ScaledToZero); a request through a
 * router waits for the first pod and is served once it is Ready; one that a starting pod cannot
 * finish before its deadline is refused at once with the pod start as Retry-After; and
 * minReplicas 0 without the router is refused at `kubectl apply`. Autoscaling Off here:
 * `kubectl scale` stands in for the autoscaler's first step (its own tests cover 0 -> 1).
 */
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routerMetrics } from '../../src/contract/metrics.ts';
import { routerSelectorLabels, selectorString } from '../../src/operator/api/v1alpha1/names.ts';
import { eventually } from '../support/k8s.ts';
import { fleetSpec, readyLabelled, startTestFleet, type TestFleet } from '../support/fleet.ts';
import { apiVerdict, condition, waitForCondition } from '../support/zid.ts';

let fleet: TestFleet;

/** The fleet's spec with the router on (its default) at zero replicas, minReplicas 0, Off. */
function atZero(runtime: Record<string, unknown> = {}, router: Record<string, unknown> = {}) {
  const { router: _off, ...spec } = fleetSpec(0);
  return {
    ...spec,
    runtime: { ...spec.runtime, ...runtime },
    autoscaling: { mode: 'Off', minReplicas: 0 },
    router: { enabled: true, ...router },
  };
}

beforeAll(async () => {
  fleet = await startTestFleet(`zero-${process.pid}`, { pacing: false });
  await fleet.zid.create(fleet.namespace, 'idle', atZero());
  // 30 s to answer, while a pod takes 103 s to start (the card model's H100): nothing fits.
  await fleet.zid.create(
    fleet.namespace,
    'strict',
    atZero({ requestTimeoutSeconds: 30 }, { replicas: 1 }),
  );
}, 240_000);
afterAll(async () => {
  await fleet?.stop();
});

const readyBy = (labels: Record<string, string>, count: number) =>
  readyLabelled(fleet, labels, count);

const generate = (router: V1Pod, request: Record<string, unknown>) =>
  fetch(`http://${router.status!.podIP!}:8080/v1/images/generations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });

async function queuedImages(router: V1Pod): Promise<number> {
  const text = await (await fetch(`http://${router.status!.podIP!}:8080/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${routerMetrics.queuedImages} `));
  return Number(line?.split(' ').at(-1) ?? NaN);
}

describe('scale from zero', () => {
  it('refuses minReplicas 0 without the router, naming spec.autoscaling.minReplicas', async () => {
    const verdict = await apiVerdict(fleet.cluster.kubeConfig, fleet.namespace, 'norouter', {
      ...atZero(),
      router: { enabled: false },
    });
    expect(verdict).toMatch(/^422: /);
    expect(verdict).toContain('spec.autoscaling.minReplicas');
    expect(verdict).toContain('minReplicas 0 (scale to zero) needs the router');
  });

  it('keeps the routers up and Ready at zero runtime pods; status says ScaledToZero', async () => {
    await readyBy(routerSelectorLabels('idle'), 2);
    const obj = await waitForCondition(
      fleet.cluster.kubeConfig,
      fleet.namespace,
      'idle',
      'Ready',
      'True',
      'ScaledToZero',
      120_000,
    );
    expect(condition(obj, 'Ready')?.message).toContain(
      'spec.replicas is 0 and autoscaling is Off, so no pod starts on demand',
    );
    expect(condition(obj, 'RouterReady')?.status).toBe('True');
    expect(obj.status?.router?.ready).toBe('2/2');
    const runtimes = await fleet.core.listNamespacedPod({
      namespace: fleet.namespace,
      labelSelector: selectorString('idle'),
    });
    expect(runtimes.items).toEqual([]);
    expect(fleet.kubectl('get', 'zid', 'idle')).toMatch(/idle\s+0\s+0\s+2\/2/);
  }, 300_000);

  it('holds a request while no pod runs and serves it once the first pod is Ready', async () => {
    const [router] = await readyBy(routerSelectorLabels('idle'), 2);
    const answer = generate(router!, { prompt: 'a kite', size: '64x64', seed: 9 });
    await eventually(
      'the image waiting in the router',
      async () => ((await queuedImages(router!)) === 1 ? true : undefined),
      30_000,
    );
    await fleet.zid.patchSpec(fleet.namespace, 'idle', { replicas: 1 });
    const res = await answer;
    const body = (await res.json()) as { data: { seed: number }[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.data.map((d) => d.seed)).toEqual([9]);
    await waitForCondition(
      fleet.cluster.kubeConfig,
      fleet.namespace,
      'idle',
      'Ready',
      'True',
      'Available',
    );
  }, 180_000);

  it('refuses at once, Retry-After the pod start, what cannot finish before the deadline', async () => {
    const [router] = await readyBy(routerSelectorLabels('strict'), 1);
    const started = performance.now();
    const res = await generate(router!, { prompt: 'a kite', size: '64x64' });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(performance.now() - started).toBeLessThan(5_000);
    expect([res.status, res.headers.get('retry-after'), body.error.code]).toEqual([
      429,
      '103',
      'would_miss_deadline',
    ]);
    expect(body.error.message).toContain('past the 30.0 s deadline');
  }, 240_000);
});
