/**
 * The Reconciler with spec.router (fake API boundary, as test/unit/reconciler.test.ts): the
 * router's children in order, the client Service moved to the routers, RouterReady and the
 * Routers column, nothing written twice, and everything removed when the router is turned off.
 */
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { Condition } from '../../src/operator/api/v1alpha1/status.ts';
import { FakeWorld } from '../support/fake-api.ts';
import {
  all,
  checkCalls,
  checkStatus,
  healthy,
  object,
  outcome,
  running,
  unroutedSpec,
  type Row,
} from '../support/reconciler-world.ts';
import { baseSpec } from '../support/specs.ts';

const routed = (router: Record<string, unknown> = {}) => ({
  ...baseSpec(),
  router: { enabled: true, ...router },
});

const routerChildren = [
  'ServiceAccount/turbo-router',
  'Role/turbo-router',
  'RoleBinding/turbo-router',
  'PodDisruptionBudget/turbo-router',
  'Service/turbo-pods',
  'Deployment/turbo-router',
];

/** A running routed world (generation 1): runtime and router Deployments with these statuses. */
function runningRouted(
  w: FakeWorld,
  runtime: V1Deployment['status'],
  router: V1Deployment['status'],
  spec: unknown = routed(),
): void {
  w.putCr(object(1, spec));
  w.settle();
  const d = structuredClone(w.getChild<V1Deployment>('Deployment', 'ml', 'turbo')!);
  d.metadata!.generation = 1;
  w.putChild({ ...d, status: { observedGeneration: 1, ...runtime } } as V1Deployment);
  const r = structuredClone(w.getChild<V1Deployment>('Deployment', 'ml', 'turbo-router')!);
  w.putChild({ ...r, status: router } as V1Deployment);
}

interface RouterWant {
  /** RouterReady [status, reason, message], or 'absent'. */
  routerReady: [Condition['status'], string, string] | 'absent';
  /** status.router.ready (the Routers column), or 'absent'. */
  column: string;
}

/** The runtime Deployment at zero replicas, settled. */
const atZero = { replicas: 0, readyReplicas: 0, updatedReplicas: 0 };

const rows: (Row & { router?: RouterWant })[] = [
  {
    name: 'router on, fresh: its children first, the client Service once the routers exist',
    given: (w) => w.putCr(object(1, routed())),
    want: {
      applied: [...all, ...routerChildren],
      order: [
        ['applied Role/turbo-router', 'apply RoleBinding/turbo-router'],
        ['applied RoleBinding/turbo-router', 'apply Deployment/turbo-router'],
        ['applied ServiceAccount/turbo-router', 'apply Deployment/turbo-router'],
        ['applied PodDisruptionBudget/turbo-router', 'apply Deployment/turbo-router'],
        ['applied Deployment/turbo-router', 'apply Service/turbo'],
        ['applied Service/turbo-pods', 'apply Deployment/turbo'],
      ],
      ready: ['False', 'PodsNotReady', '0/1 replicas ready'],
      events: ['Normal Created'],
      result: {},
    },
    router: { routerReady: ['False', 'RoutersNotReady', '0/2 routers ready'], column: '0/2' },
  },
  {
    name: 'router on, everything up: Ready, RouterReady, 2/2',
    given: (w) => runningRouted(w, healthy, { replicas: 2, availableReplicas: 2 }),
    want: { applied: [], ready: ['True', 'Available'], events: [], result: {} },
    router: { routerReady: ['True', 'RoutersReady', '2/2 routers ready'], column: '2/2' },
  },
  {
    name: 'router on, unchanged world: writes nothing',
    given: (w) => runningRouted(w, healthy, { replicas: 2, availableReplicas: 2 }),
    warm: true,
    want: { applied: [], noStatus: true, events: [], result: {} },
  },
  {
    name: 'pods ready, one router of two: Ready False (clients reach the pods through the routers)',
    given: (w) => runningRouted(w, healthy, { replicas: 2, availableReplicas: 1 }),
    want: {
      applied: [],
      ready: ['False', 'RoutersNotReady', '1/1 replicas ready', '1/2 routers ready'],
      events: [],
      result: {},
    },
    router: { routerReady: ['False', 'RoutersNotReady', '1/2 routers ready'], column: '1/2' },
  },
  {
    name: 'scaled to zero, Enforce at minReplicas 0: the routers stay, Ready says the first arrival starts a pod',
    given: (w) =>
      runningRouted(
        w,
        atZero,
        { replicas: 2, availableReplicas: 2 },
        {
          ...routed(),
          replicas: 0,
          autoscaling: { mode: 'Enforce', minReplicas: 0, maxReplicas: 2 },
        },
      ),
    want: {
      applied: [],
      ready: [
        'True',
        'ScaledToZero',
        'the routers hold requests and the autoscaler starts a pod on the first arrival',
        // The default spec on an H100: 102.2 s of weights at 200 MB/s + a 1.2 s warm-up image.
        'about 103 s to Ready',
      ],
      events: [],
      result: {},
    },
    router: { routerReady: ['True', 'RoutersReady', '2/2 routers ready'], column: '2/2' },
  },
  {
    name: 'stopped (spec.replicas 0, autoscaling Off): Ready says no pod starts on demand',
    given: (w) =>
      runningRouted(w, atZero, { replicas: 2, availableReplicas: 2 }, { ...routed(), replicas: 0 }),
    want: {
      applied: [],
      ready: [
        'True',
        'ScaledToZero',
        'spec.replicas is 0 and autoscaling is Off, so no pod starts on demand',
        'the routers hold requests until their deadline',
        'kubectl scale zid/turbo --replicas=1',
      ],
      events: [],
      result: {},
    },
    router: { routerReady: ['True', 'RoutersReady', '2/2 routers ready'], column: '2/2' },
  },
  {
    name: 'at zero with a router still starting: RoutersNotReady (nothing would hold a request)',
    given: (w) =>
      runningRouted(w, atZero, { replicas: 2, availableReplicas: 1 }, { ...routed(), replicas: 0 }),
    want: {
      applied: [],
      ready: ['False', 'RoutersNotReady', '0/0 replicas ready', '1/2 routers ready'],
      events: [],
      result: {},
    },
    router: { routerReady: ['False', 'RoutersNotReady', '1/2 routers ready'], column: '1/2' },
  },
  {
    name: 'router turned off: its children deleted, the Service back on the runtime pods',
    given: (w) => runningRouted(w, healthy, { replicas: 2, availableReplicas: 2 }),
    warm: true,
    want: {
      applied: ['Service/turbo'],
      calls: routerChildren.map((c) => `delete ${c}`),
      ready: ['True', 'Available'],
      events: ['Normal Updated'],
      result: {},
    },
    router: { routerReady: 'absent', column: 'absent' },
  },
  {
    name: 'router off: a same-named Deployment of someone else is left alone',
    given: (w) => {
      running(w, healthy);
      w.putChild({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'turbo-router', namespace: 'ml' },
      });
    },
    want: {
      applied: [],
      noCalls: ['delete Deployment/turbo-router'],
      events: [],
      result: {},
    },
    router: { routerReady: 'absent', column: 'absent' },
  },
];

describe('Reconciler: the router (table)', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', async (name, row) => {
    const w = new FakeWorld();
    row.given(w);
    if (row.warm) {
      await w.reconciler().reconcile('ml/turbo');
      w.resetCalls();
    }
    // The "turned off" row: the object moves to a spec without the router after the warm run.
    if (name.startsWith('router turned off')) {
      const stored = w.crs.get('ml/turbo')!;
      w.putCr({ ...stored, metadata: { ...stored.metadata, generation: 2 }, spec: unroutedSpec() });
    }
    expect(await outcome(w)).toEqual(row.want.result);
    checkCalls(w, row.want);
    checkStatus(w, row.want);
    if (!row.router) return;
    const status = w.statusWrites.at(-1);
    const condition = status?.conditions?.find((c) => c.type === 'RouterReady');
    if (row.router.routerReady === 'absent') expect(condition).toBeUndefined();
    else {
      const [s, reason, message] = row.router.routerReady;
      expect(condition).toMatchObject({ status: s, reason, message });
    }
    const column = row.router.column;
    expect(status?.router?.ready).toBe(column === 'absent' ? undefined : column);
  });

  it('the default spec (no spec.router) runs the routers in front', async () => {
    const w = new FakeWorld();
    w.putCr(object(1, baseSpec()));
    await w.reconciler().reconcile('ml/turbo');
    expect(w.getChild<V1Deployment>('Deployment', 'ml', 'turbo-router')?.spec?.replicas).toBe(2);
    expect(w.getChild<V1Service>('Service', 'ml', 'turbo')?.spec?.selector).toMatchObject({
      'app.kubernetes.io/name': 'zimage-router',
    });
  });

  it('points the client Service at the routers while on, at the runtime pods when off', async () => {
    const w = new FakeWorld();
    w.putCr(object(1, routed()));
    await w.reconciler().reconcile('ml/turbo');
    const selector = () => w.getChild<V1Service>('Service', 'ml', 'turbo')?.spec?.selector;
    expect(selector()).toEqual({
      'app.kubernetes.io/name': 'zimage-router',
      'app.kubernetes.io/instance': 'turbo',
    });
    expect(w.getChild<V1Service>('Service', 'ml', 'turbo-pods')?.spec?.selector).toEqual({
      'app.kubernetes.io/name': 'zimage-runtime',
      'app.kubernetes.io/instance': 'turbo',
    });
    w.putCr(object(2, unroutedSpec()));
    await w.reconciler().reconcile('ml/turbo');
    expect(selector()?.['app.kubernetes.io/name']).toBe('zimage-runtime');
    expect(w.getChild('Service', 'ml', 'turbo-pods')).toBeUndefined();
  });
});
