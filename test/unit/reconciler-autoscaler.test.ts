/**
 * The autoscaler inside the reconcile, against the fake API boundary: a sample a second (as
 * the loop hands them), the fake clock moving one second per decision, and what reaches the
 * cluster: the Deployment's replicas, the ConfigMap's steps, status, the scale subresource
 * (after status), Events. The policy's own table is policy-decide.test.ts.
 */
import type { V1ConfigMap, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { liveConfigKey } from '../../src/contract/runtime.ts';
import { allMissing, type KeySignals, type Reading } from '../../src/operator/signals/sample.ts';
import { FakeWorld } from '../support/fake-api.ts';
import { healthy, object, running } from '../support/reconciler-world.ts';
import { baseSpec } from '../support/specs.ts';

const key = 'ml/turbo';

function spec(mode: 'Off' | 'DryRun' | 'Enforce', extra: Record<string, unknown> = {}) {
  // Without the router: these rows drive the utilization rules (demand: policy-demand.test.ts).
  return {
    ...baseSpec(),
    router: { enabled: false },
    autoscaling: { mode, minReplicas: 1, maxReplicas: 3, ...extra },
  };
}

const value = (v: number, at: number): Reading => ({ ok: true, value: v, intervalSeconds: 1, at });

function signals(w: FakeWorld, gpu: number): KeySignals {
  const at = w.clock.now();
  return {
    gpuUtilization: value(gpu, at),
    vramUsedRatio: value(0.5, at),
    vramUsedBytes: value(8 * 2 ** 30, at),
    vramTotalBytes: value(16 * 2 ** 30, at),
    latencyP95Seconds: value(2, at),
    waitP95Seconds: value(2, at),
    queueDepth: value(gpu > 90 ? 4 : 0, at),
    inflight: value(1, at),
    routerQueuedImages: value(0, at),
    routerQueuedWorkSeconds: value(0, at),
    arrivedImagesPerSecond: value(0, at),
    arrivedWorkPerSecond: value(0, at),
    burstWorkPerSecond: value(0, at),
  };
}

const readyPod = (name: string): V1Pod => ({
  metadata: { name, namespace: 'ml', labels: { 'app.kubernetes.io/instance': 'turbo' } },
  status: {
    phase: 'Running',
    podIP: '127.0.1.9',
    conditions: [{ type: 'Ready', status: 'True' }],
  },
});

let seq = 0;
/** One decision: a fresh sample, a reconcile, one second on. */
async function tick(w: FakeWorld, sample: KeySignals, times = 1) {
  const r = w.reconciler({ autoscaler: true });
  for (let i = 0; i < times; i++) {
    w.samples.set(key, { seq: ++seq, at: w.clock.now(), direct: sample });
    await r.reconcile(key);
    await w.clock.advance(1_000);
  }
}

function world(mode: 'Off' | 'DryRun' | 'Enforce') {
  const w = new FakeWorld();
  running(w, healthy);
  w.putCr(object(2, spec(mode)));
  w.pods = [readyPod('turbo-a')];
  return w;
}

const deploymentReplicas = (w: FakeWorld) =>
  w.getChild<V1Deployment>('Deployment', 'ml', 'turbo')?.spec?.replicas;
const liveSteps = (w: FakeWorld) =>
  (
    JSON.parse(
      w.getChild<V1ConfigMap>('ConfigMap', 'ml', 'turbo-runtime')?.data?.[liveConfigKey] ?? '{}',
    ) as { steps?: number }
  ).steps;

/**
 * Decisions on one long-lived reconciler (it remembers a failed scale write, as the operator's
 * does), each on a saturated sample; a failed reconcile resolves to its error.
 */
function hotDecisions(w: FakeWorld) {
  const r = w.reconciler({ autoscaler: true });
  return async () => {
    w.samples.set(key, { seq: ++seq, at: w.clock.now(), direct: signals(w, 95) });
    const outcome = r.reconcile(key).catch((err: unknown) => err);
    await w.clock.advance(1_000);
    return outcome;
  };
}

describe('Reconciler with the autoscaler', () => {
  it('Enforce: a sustained breach scales the Deployment, then status, then spec.replicas', async () => {
    const w = world('Enforce');
    const hot = () => signals(w, 95);
    for (let i = 0; i < 5; i++) await tick(w, hot());

    expect(deploymentReplicas(w)).toBe(1);
    w.calls.length = 0;
    await tick(w, hot());
    expect(deploymentReplicas(w)).toBe(2);
    const applied = w.calls.indexOf('applied Deployment/turbo');
    const status = w.calls.indexOf('status');
    const scale = w.calls.indexOf('scale 2');
    expect(applied).toBeGreaterThanOrEqual(0);
    expect(status).toBeGreaterThan(applied);
    expect(scale).toBeGreaterThan(status);
    const cr = w.crs.get(key)!;
    expect((cr.spec as { replicas: number }).replicas).toBe(2);
    expect(cr.status?.autoscaler?.replicas).toBe(2);
    expect(cr.status?.lastAction).toMatch(/by gpu-saturated$/);
    expect(cr.status?.signals?.gpuUtilization).toBe(95);
    // The new pod loads for ~105 s: one notch of steps bridges it, live through the ConfigMap.
    expect(liveSteps(w)).toBe(cr.status?.effective?.steps);
    expect(w.events.map((e) => `${e.type} ${e.reason}`)).toContain('Normal ScaledOut');
    expect(w.samples.has(key), 'the sample is used once').toBe(false);
  });

  it('Enforce: a failed scale write is retried as the operator’s own, not overruled as manual', async () => {
    const w = world('Enforce');
    const decideOnce = hotDecisions(w);
    for (let i = 0; i < 5; i++) await decideOnce();
    w.answers.scale = () => new Error('etcdserver: request timed out');
    expect(String(await decideOnce())).toMatch(/request timed out/);
    const cr = w.crs.get(key)!;
    expect(cr.status?.autoscaler?.replicas, 'status holds the decision').toBe(2);
    expect((cr.spec as { replicas?: number }).replicas ?? 1, 'the write did not land').toBe(1);

    delete w.answers.scale;
    w.calls.length = 0;
    await decideOnce();
    expect(w.calls).toContain('scale 2');
    expect((w.crs.get(key)!.spec as { replicas: number }).replicas).toBe(2);
    const reasons = (w.crs.get(key)!.status?.autoscaler?.history ?? []).map((h) => h.reason);
    expect(reasons.filter((x) => x.startsWith('ManualScaleOverruled'))).toEqual([]);
    expect(w.events.map((e) => e.reason)).not.toContain('ManualScaleOverruled');
  });

  it('Enforce: a kubectl scale after a failed write is still overruled, with its Event', async () => {
    const w = world('Enforce');
    const decideOnce = hotDecisions(w);
    for (let i = 0; i < 5; i++) await decideOnce();
    w.answers.scale = () => new Error('etcdserver: request timed out');
    await decideOnce();
    delete w.answers.scale;
    // Someone scales by hand in between: the spec's generation moves on.
    const stored = w.crs.get(key)!;
    w.putCr({
      ...stored,
      spec: { ...(stored.spec as Record<string, unknown>), replicas: 3 },
      metadata: { ...stored.metadata, generation: (stored.metadata.generation ?? 0) + 1 },
    });
    await decideOnce();
    expect(w.events.map((e) => e.reason)).toContain('ManualScaleOverruled');
  });

  it('a new object without pods yet says NoPods in status, with no Warning until pods went away', async () => {
    const w = world('Enforce');
    w.pods = [];
    const none = allMissing('NoPods', 'ml/turbo has no running pod with an IP');
    await tick(w, none, 2);
    const condition = () =>
      w.crs.get(key)!.status?.conditions?.find((x) => x.type === 'MetricsAvailable');
    expect(condition()).toMatchObject({ status: 'False', reason: 'NoPods' });
    expect(w.events.filter((e) => e.type === 'Warning')).toEqual([]);

    w.pods = [readyPod('turbo-a')];
    await tick(w, signals(w, 50));
    expect(condition()).toMatchObject({ status: 'True' });
    w.pods = [];
    await tick(w, none);
    expect(w.events.filter((e) => e.type === 'Warning').map((e) => e.reason)).toEqual(['NoPods']);
  });

  it('Enforce: a reconcile with no new sample keeps what the autoscaler set', async () => {
    const w = world('Enforce');
    for (let i = 0; i < 6; i++) await tick(w, signals(w, 95));
    w.calls.length = 0;
    await w.reconciler({ autoscaler: true }).reconcile(key);
    expect(deploymentReplicas(w)).toBe(2);
    expect(w.calls.filter((c) => c.startsWith('scale'))).toEqual([]);
  });

  it('DryRun: records and announces, applies nothing', async () => {
    const w = world('DryRun');
    for (let i = 0; i < 6; i++) await tick(w, signals(w, 95));
    expect(deploymentReplicas(w)).toBe(1);
    expect(w.calls.filter((c) => c.startsWith('scale'))).toEqual([]);
    const cr = w.crs.get(key)!;
    const history = cr.status?.autoscaler?.history ?? [];
    expect(history.map((h) => `${h.action} ${h.from} -> ${h.to} ${h.dryRun}`)).toEqual([
      'scale 1 -> 2 true',
      'steps 9 -> 8 true',
    ]);
    expect(cr.status?.lastAction).toBe('would steps 9 -> 8 by gpu-saturated');
    expect(liveSteps(w)).toBe(9);
    expect(w.events.find((e) => e.reason === 'ScaledOut')?.message).toMatch(
      /^DryRun, not applied: would scale 1 -> 2 by rule gpu-saturated/,
    );
  });

  it('a source down holds: MetricsAvailable=False with the reason, one Warning', async () => {
    const w = world('Enforce');
    const down = allMissing('SourceDown', 'http://127.0.0.1:1/metrics: connect ECONNREFUSED');
    await tick(w, down, 3);
    const cr = w.crs.get(key)!;
    const c = cr.status?.conditions?.find((x) => x.type === 'MetricsAvailable');
    expect(c).toMatchObject({ status: 'False', reason: 'SourceDown' });
    expect(c?.message).toMatch(/gpuUtilization: SourceDown \(.*ECONNREFUSED\)/);
    expect(w.events.filter((e) => e.type === 'Warning' && e.reason === 'SourceDown')).toHaveLength(
      1,
    );
    expect(deploymentReplicas(w)).toBe(1);
  });

  it('Off after Enforce: the overrides drop, the spec runs, the conditions say Off', async () => {
    const w = world('Enforce');
    for (let i = 0; i < 6; i++) await tick(w, signals(w, 95));
    expect(deploymentReplicas(w)).toBe(2);
    const enforced = w.crs.get(key)!;
    w.putCr({ ...enforced, spec: { ...spec('Off'), replicas: 1 } });
    await w.reconciler({ autoscaler: true }).reconcile(key);
    const cr = w.crs.get(key)!;
    expect(deploymentReplicas(w)).toBe(1);
    expect(liveSteps(w)).toBe(9);
    expect(cr.status?.autoscaler?.mode).toBe('Off');
    expect(cr.status?.conditions?.find((x) => x.type === 'ScalingLimited')).toMatchObject({
      status: 'Unknown',
      reason: 'AutoscalingOff',
    });
    // History stays for `kubectl describe`.
    expect(cr.status?.autoscaler?.history.length).toBeGreaterThan(0);
  });

  it('steady signals write status once, then every 30 s, not every second', async () => {
    const w = world('Enforce');
    await tick(w, signals(w, 50));
    w.resetCalls();
    let gpu = 50;
    for (let i = 0; i < 28; i++) await tick(w, signals(w, (gpu += 0.5)));
    expect(w.statusWrites).toHaveLength(0);
    await tick(w, signals(w, gpu), 3);
    expect(w.statusWrites).toHaveLength(1);
    expect(w.statusWrites[0]!.signals?.gpuUtilization).toBe(gpu);
  });

  it('without the autoscaler (--autoscaler=false) an Enforce object runs its spec', async () => {
    const w = world('Enforce');
    w.samples.set(key, { seq: ++seq, at: w.clock.now(), direct: signals(w, 95) });
    await w.reconciler().reconcile(key);
    expect(deploymentReplicas(w)).toBe(1);
    expect(w.crs.get(key)!.status?.autoscaler).toBeUndefined();
  });
});
