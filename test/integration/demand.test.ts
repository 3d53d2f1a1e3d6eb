/**
 * Scale to demand on the live fleet (issue 19): the operator's default rules with the router
 * (no spec.autoscaling.rules), Enforce, direct sampling of the routers and pods. Runtime pods
 * run the tiny model paced to the modelled H100 (64x64 at 50 steps: ~0.52 s an image).
 *
 * 1. A burst of 8-image requests through the routers: one decision takes the object from 1 pod
 *    to maxReplicas (not one pod per cooldown), the Ready pod drops steps in the same breath,
 *    and the steps come back as the new pods turn Ready; `kubectl describe` shows it all.
 * 2. Scale from zero: an object at 0 replicas (minReplicas 0) gets its first pod from the
 *    first request, which waits in the router and is answered.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pacedWorkload } from '../../dev/specs.ts';
import { routerSelectorLabels } from '../../src/operator/api/v1alpha1/names.ts';
import { eventually } from '../support/k8s.ts';
import { fleetSpec, readyLabelled, startTestFleet, type TestFleet } from '../support/fleet.ts';

let fleet: TestFleet;
const { steps, size } = pacedWorkload;

/** The fleet's spec with the router on (its default), the default rules, Enforce. */
function demandSpec(replicas: number, autoscaling: Record<string, unknown>) {
  const { router: _off, ...spec } = fleetSpec(replicas);
  return {
    ...spec,
    runtime: { ...spec.runtime, steps, maxImagesPerRequest: 8 },
    autoscaling: { mode: 'Enforce', metrics: { direct: true }, ...autoscaling },
  };
}

beforeAll(async () => {
  fleet = await startTestFleet(`demand-${process.pid}`);
  await fleet.zid.create(
    fleet.namespace,
    'burst',
    demandSpec(1, { minReplicas: 1, maxReplicas: 4 }),
  );
  await fleet.zid.create(
    fleet.namespace,
    'cold',
    demandSpec(0, { minReplicas: 0, maxReplicas: 2 }),
  );
}, 240_000);
afterAll(async () => {
  await fleet?.stop();
});

const readyRouters = (name: string) => readyLabelled(fleet, routerSelectorLabels(name), 2);

async function generate(router: V1Pod, n: number, seed: number): Promise<number> {
  const res = await fetch(`http://${router.status!.podIP!}:8080/v1/images/generations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'a kite', size, n, seed }),
  });
  await res.arrayBuffer();
  return res.status;
}

const history = async (name: string) =>
  (await fleet.zid.get(fleet.namespace, name)).status?.autoscaler?.history ?? [];

describe('scale to demand on the live fleet', () => {
  it('a burst takes one decision to maxReplicas, with the quality bridge and its return', async () => {
    const routers = await readyRouters('burst');
    // Let the autoscaler sample the routers a few times before the burst (a rate needs two).
    await new Promise((r) => setTimeout(r, 5_000));
    // Open loop: an 8-image request every 250 ms through the routers in turn, ~32 images/s
    // against the one pod's ~2: demand ~16 GPUs, capped at 4.
    const sent: Promise<number>[] = [];
    for (let i = 0; i < 80; i++) {
      sent.push(generate(routers[i % 2]!, 8, 1000 + 8 * i));
      await new Promise((r) => setTimeout(r, 250));
    }
    const scaled = (await history('burst')).filter((h) => h.action === 'scale');
    // One decision from 1 to 4: no 1 -> 2 -> 3 steps, and the reason carries the arithmetic.
    expect(scaled.map((h) => `${h.from} -> ${h.to}`)).toEqual(['1 -> 4']);
    expect(scaled[0]!.rule).toBe('demand');
    expect(scaled[0]!.reason).toMatch(/^ScaledOut: demand [\d.]+ image-s\/s at 80% -> \d+ pods/);
    const lowered = (await history('burst')).find(
      (h) => h.action === 'steps' && h.reason.startsWith('QualityLowered'),
    );
    expect(lowered, 'the Ready pod bridges with fewer steps').toBeDefined();
    expect(Number(lowered!.to)).toBeLessThan(steps);
    const statuses = await Promise.all(sent);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    // The new pods turn Ready; the steps come back (the load is gone).
    const restored = await eventually(
      'steps back to the spec',
      async () => {
        const a = (await fleet.zid.get(fleet.namespace, 'burst')).status?.autoscaler;
        return a?.effective.steps === steps && a.qualityLevel === 0 ? a : undefined;
      },
      180_000,
    );
    expect(restored.history.some((h) => h.reason.startsWith('QualityRestored'))).toBe(true);
    const described = fleet.kubectl('describe', 'zid', 'burst');
    expect(described).toContain('ScaledOut: demand');
    expect(described).toContain('QualityRestored');
  }, 420_000);

  it('scale from zero: the first request asks for a pod, waits in the router and is answered', async () => {
    const routers = await readyRouters('cold');
    const cold = await fleet.zid.get(fleet.namespace, 'cold');
    expect((cold.spec as { replicas?: number }).replicas).toBe(0);
    const status = await generate(routers[0]!, 1, 7);
    expect(status).toBe(200);
    const scaled = (await history('cold')).filter((h) => h.action === 'scale');
    expect(scaled[0]).toMatchObject({ rule: 'demand', from: '0', to: '1' });
  }, 240_000);
});
