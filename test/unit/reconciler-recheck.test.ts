/** The Reconciler's slow recheck of a refused child (fake API boundary, fake time). */
import { describe, expect, it } from 'vitest';
import { FakeWorld } from '../support/fake-api.ts';
import {
  deployment422,
  healthy,
  isKind,
  object,
  running,
  withRuntime,
} from '../support/reconciler-world.ts';

describe('Reconciler: a refused child is tried again after the recheck, not before', () => {
  const refuseDeployment = {
    apply: (o: { kind?: string }) => (isKind('Deployment')(o) ? deployment422 : undefined),
  };
  const world = () => {
    const w = new FakeWorld();
    running(w, healthy, withRuntime({ resources: { requests: { cpu: '3' } } }));
    w.answers = refuseDeployment;
    return w;
  };
  const deploymentApplies = (w: FakeWorld) =>
    w.calls.filter((c) => c === 'apply Deployment/turbo').length;

  it('events in between (its own status write, pods) reuse the verdict; 60 s later it asks again', async () => {
    const w = world();
    const r = w.reconciler();
    expect(await r.reconcile('ml/turbo')).toEqual({ requeueAfterMs: 60_000 });
    expect(deploymentApplies(w)).toBe(1);
    // The status write comes back as an update event: same verdict, no request, no write.
    w.resetCalls();
    await w.clock.advance(59_999);
    expect(await r.reconcile('ml/turbo')).toEqual({ requeueAfterMs: 60_000 });
    expect(w.calls).toEqual([]);
    await w.clock.advance(1);
    await r.reconcile('ml/turbo');
    expect(deploymentApplies(w)).toBe(1);
  });

  it('a new spec is tried at once', async () => {
    const w = world();
    const r = w.reconciler();
    await r.reconcile('ml/turbo');
    w.putCr(object(3, withRuntime({ resources: { requests: { cpu: '5' } } })));
    w.resetCalls();
    await r.reconcile('ml/turbo');
    expect(deploymentApplies(w)).toBe(1);
    expect(w.statusWrites.at(-1)?.observedGeneration).toBe(3);
  });

  it('the fixed spec applies and the object gets Ready again', async () => {
    const w = world();
    const r = w.reconciler();
    await r.reconcile('ml/turbo');
    w.putCr({ ...object(3), status: w.crs.get('ml/turbo')!.status! });
    w.resetCalls();
    expect(await r.reconcile('ml/turbo')).toEqual({});
    const ready = w.statusWrites.at(-1)?.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'True', reason: 'Available' });
  });
});
