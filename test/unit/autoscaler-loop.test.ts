/**
 * The autoscaler's loop and signal assembly at the edge: one sample per source per tick for
 * every object, each object decided at its own interval, only on the leader; direct readings
 * win over Prometheus, and what neither has stays missing with the reason.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AutoscalerLoop } from '../../src/operator/autoscaling/loop.ts';
import {
  pendingForGpus,
  policySignals,
  sampledPods,
} from '../../src/operator/autoscaling/signals.ts';
import type { ZImageDeploymentObject } from '../../src/operator/api/v1alpha1/types.ts';
import {
  allMissing,
  missing,
  type KeySignals,
  type SignalSample,
  type SignalSource,
  type SignalTarget,
} from '../../src/operator/signals/sample.ts';
import { FakeClock } from '../support/fake-clock.ts';
import { pendingPod } from '../support/reconciler-world.ts';
import { baseSpec } from '../support/specs.ts';
import { keyOf } from '../../src/contract/object-key.ts';

const t0 = Date.parse('2026-12-01T08:00:00Z');

function cr(name: string, autoscaling: Record<string, unknown>): ZImageDeploymentObject {
  return {
    apiVersion: 'zimage.dev/v1alpha1',
    kind: 'ZImageDeployment',
    metadata: { name, namespace: 'ml' },
    spec: { ...baseSpec(), autoscaling },
  };
}

function pod(name: string, ready: boolean, extra: Partial<V1Pod['metadata']> = {}): V1Pod {
  return {
    metadata: { name, namespace: 'ml', ...extra },
    spec: {
      nodeName: 'gpu-0',
      containers: [{ name: 'runtime', ports: [{ name: 'http', containerPort: 8080 }] }],
    },
    status: {
      phase: 'Running',
      podIP: `127.0.1.${name.length}`,
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  };
}

class CountingSource implements SignalSource {
  readonly calls: SignalTarget[][] = [];
  readonly kind: 'direct' | 'prometheus';
  constructor(kind: 'direct' | 'prometheus') {
    this.kind = kind;
  }
  sample(targets: readonly SignalTarget[], now: number): Promise<SignalSample> {
    this.calls.push([...targets]);
    const byKey = new Map<string, KeySignals>(
      targets.map((t) => [keyOf(t), allMissing('NoData', `${this.kind} test`)]),
    );
    return Promise.resolve({ source: this.kind, at: now, byKey, requests: 1 });
  }
}

function loop(crs: ZImageDeploymentObject[], leading = () => true) {
  const clock = new FakeClock(t0);
  const direct = new CountingSource('direct');
  const prometheus = new CountingSource('prometheus');
  const enqueued: string[] = [];
  const l = new AutoscalerLoop({
    listCrs: () => crs,
    podsOf: () => [pod('a', true), pod('bb', false)],
    routersOf: () => [],
    direct,
    prometheus,
    leading,
    enqueue: (k) => enqueued.push(k),
    clock,
    log: pino({ level: 'silent' }),
  });
  return { l, clock, direct, prometheus, enqueued };
}

describe('AutoscalerLoop', () => {
  it('samples every object in one call per source; Off and invalid objects are left out', async () => {
    const { l, direct, prometheus, enqueued } = loop([
      cr('a', { mode: 'Enforce' }),
      cr('b', { mode: 'DryRun', metrics: { prometheus: { url: 'http://127.0.0.1:9090' } } }),
      cr('c', { mode: 'Off' }),
      cr('d', { mode: 'Enforce', maxReplicas: 'many' }),
    ]);
    const r = await l.tick();
    expect(r).toMatchObject({ objects: 2, requests: 2, periodMs: 1000 });
    expect(direct.calls.map((c) => c.map(keyOf))).toEqual([['ml/a', 'ml/b']]);
    expect(prometheus.calls.map((c) => c.map(keyOf))).toEqual([['ml/b']]);
    // Only Ready pods are read: a loading pod's idle GPU would dilute the busy ones.
    expect(direct.calls[0]![0]!.pods.map((p) => p.name)).toEqual(['a']);
    expect(enqueued).toEqual(['ml/a', 'ml/b']);
    expect(l.take('ml/b')).toMatchObject({ at: t0, direct: {}, prometheus: {} });
  });

  it('decides each object at its own interval; a sample is taken once', async () => {
    const { l, clock, enqueued } = loop([
      cr('fast', { mode: 'Enforce', interval: '500ms' }),
      cr('slow', { mode: 'Enforce', interval: '2s' }),
    ]);
    for (let i = 0; i < 8; i++) {
      const { periodMs } = await l.tick();
      expect(periodMs).toBe(500);
      await clock.advance(500);
    }
    expect(enqueued.filter((k) => k === 'ml/fast')).toHaveLength(8);
    expect(enqueued.filter((k) => k === 'ml/slow')).toHaveLength(2);
    const s = l.take('ml/fast')!;
    l.consumed('ml/fast', s.seq - 1);
    expect(l.take('ml/fast'), 'an older seq leaves a newer sample').toBe(s);
    l.consumed('ml/fast', s.seq);
    expect(l.take('ml/fast')).toBeUndefined();
  });

  it('a standby never samples; a deleted object is forgotten', async () => {
    let leading = false;
    const crs = [cr('a', { mode: 'Enforce' })];
    const { l, clock, direct } = loop(crs, () => leading);
    l.start();
    await clock.advance(3_000);
    expect(direct.calls).toHaveLength(0);
    leading = true;
    await clock.advance(1_000);
    expect(direct.calls.length).toBeGreaterThan(0);
    crs.length = 0;
    await clock.advance(1_000);
    expect(l.take('ml/a')).toBeUndefined();
    l.stop();
  });
});

describe('policySignals', () => {
  const at = t0;
  const ok = (value: number) => ({ ok: true as const, value, intervalSeconds: 1, at });
  const fleet = {
    replicas: 2,
    pods: [pod('a', true), pod('bb', false)],
    gpuResource: 'nvidia.com/gpu',
    now: at,
    intervalSeconds: 1,
  };

  it('takes a direct value first, Prometheus where direct has none, else the reason', () => {
    const direct = {
      ...allMissing('Stale', 'every pod failed its scrape'),
      gpuUtilization: ok(95),
    };
    const prometheus = { ...allMissing('SourceDown', 'refused'), queueDepth: ok(3) };
    const s = policySignals({ at, direct, prometheus }, fleet);
    expect(s.gpuUtilization).toEqual(ok(95));
    expect(s.queueDepth).toEqual(ok(3));
    expect(s.latencyP95Seconds).toEqual(missing('Stale', 'every pod failed its scrape'));
    expect(s.fleet).toEqual({ replicas: 2, readyReplicas: 1 });
    expect(s.pendingPods).toMatchObject({ ok: true, value: 0 });
  });

  it('counts pods Pending for GPUs, less those waiting for a terminating pod', () => {
    const leaving = pod('old', true, { deletionTimestamp: new Date(t0) });
    const pods = [pendingPod('p1'), pendingPod('p2'), leaving];
    expect(pendingForGpus(pods, 'nvidia.com/gpu')).toBe(1);
    expect(pendingForGpus([pendingPod('p1')], 'nvidia.com/gpu')).toBe(1);
    expect(sampledPods(pods)).toEqual([]);
  });
});
