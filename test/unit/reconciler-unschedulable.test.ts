/**
 * Unschedulable pods against the fake API boundary and a fake clock: status says so at once,
 * the Warning waits for kube-scheduler's longest backoff (a rollout's pod waiting for a GPU that
 * has just been freed is placed within it).
 */
import { describe, expect, it } from 'vitest';
import { FakeWorld } from '../support/fake-api.ts';
import { pendingPod, running } from '../support/reconciler-world.ts';

describe('Reconciler: unschedulable pods', () => {
  const world = () => {
    const w = new FakeWorld();
    running(w, { replicas: 2, readyReplicas: 0, updatedReplicas: 2 });
    w.pods = [pendingPod('turbo-6f9c7d-a')];
    return w;
  };

  it('warn once they have stayed so for the scheduler’s longest backoff (10 s)', async () => {
    const w = world();
    const r = w.reconciler();
    expect(await r.reconcile('ml/turbo')).toEqual({ requeueAfterMs: 10_000 });
    await w.clock.advance(4_000);
    expect(await r.reconcile('ml/turbo')).toEqual({ requeueAfterMs: 6_000 });
    expect(w.events).toEqual([]);
    await w.clock.advance(6_000);
    expect(await r.reconcile('ml/turbo')).toEqual({});
    expect(w.events.map((e) => `${e.type} ${e.reason}`)).toEqual(['Warning PodsUnschedulable']);
  });

  it('a rollout’s pod placed within the grace (its GPU freed) leaves no Warning', async () => {
    const w = world();
    const r = w.reconciler();
    await r.reconcile('ml/turbo');
    await w.clock.advance(1_000);
    w.pods = [];
    expect(await r.reconcile('ml/turbo')).toEqual({});
    await w.clock.advance(20_000);
    w.pods = [pendingPod('turbo-6f9c7d-b')];
    // Unschedulable again later: a new grace, not the old one's.
    expect(await r.reconcile('ml/turbo')).toEqual({ requeueAfterMs: 10_000 });
    expect(w.events).toEqual([]);
  });

  it('one Warning while the pods pile up (replicas: 100 on a full pool); status keeps the count', async () => {
    const w = world();
    const r = w.reconciler();
    await r.reconcile('ml/turbo');
    await w.clock.advance(10_000);
    for (let n = 1; n <= 13; n++) {
      w.pods = Array.from({ length: n }, (_, i) => pendingPod(`turbo-6f9c7d-${i}`));
      await r.reconcile('ml/turbo');
      await w.clock.advance(700);
    }
    expect(w.events.map((e) => `${e.type} ${e.reason}`)).toEqual(['Warning PodsUnschedulable']);
    const ready = w.statusWrites.at(-1)?.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.message).toMatch(/^13 pods cannot be scheduled; pod "turbo-6f9c7d-0"/);
  });
});
