import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { CrashBackoff } from '../../dev/fleet/backoff.ts';
import { IpPool, runnerPodCidr } from '../../dev/fleet/cidr.ts';
import { renderEnv, type DataLookup } from '../../dev/fleet/env.ts';
import { podStatus, type ContainerView, type PodView } from '../../dev/fleet/pod-status.ts';
import { parseSelector } from '../../dev/fleet/selector.ts';

const pod = (env: unknown[], extra: Record<string, unknown> = {}): V1Pod =>
  ({
    metadata: {
      name: 'turbo-abc',
      namespace: 'ml',
      uid: 'u-1',
      labels: { app: 'x', 'app.kubernetes.io/instance': 'turbo' },
    },
    spec: {
      nodeName: 'gpu-h100-0',
      serviceAccountName: 'turbo-runtime',
      containers: [
        {
          name: 'runtime',
          image: 'zimage-runtime:1',
          env,
          resources: { requests: { cpu: '500m', memory: '24Gi' }, limits: { memory: '32Gi' } },
          ...extra,
        },
      ],
    },
    status: { podIP: '127.1.128.7', hostIP: '127.0.0.1' },
  }) as V1Pod;

const data: Record<string, Record<string, string>> = {
  'ConfigMap/ml/cfg': { MODE: 'fast', 'bad key': 'x' },
  'Secret/ml/token': { TOKEN: 's3cret' },
};
const lookup: DataLookup = (kind, ns, name) => Promise.resolve(data[`${kind}/${ns}/${name}`]);
const allocatable = { cpu: '192', memory: '2048Gi' };
const render = async (env: unknown[], extra: Record<string, unknown> = {}) =>
  Object.fromEntries(await renderEnv(pod(env, extra), 0, lookup, allocatable));

describe('container env as kubelet renders it', () => {
  it.each([
    ['plain value', [{ name: 'A', value: '1' }], { A: '1' }],
    [
      '$(VAR) from an earlier variable, $$( escaped, unknown kept',
      [
        { name: 'A', value: 'x' },
        { name: 'B', value: '$(A)-$$(A)-$(NOPE)' },
      ],
      { A: 'x', B: 'x-$(A)-$(NOPE)' },
    ],
    [
      'downward API: name, namespace, pod IP, node, service account, a label',
      [
        { name: 'N', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
        {
          name: 'I',
          valueFrom: { fieldRef: { fieldPath: "metadata.labels['app.kubernetes.io/instance']" } },
        },
      ],
      {
        N: 'turbo-abc',
        NS: 'ml',
        IP: '127.1.128.7',
        NODE: 'gpu-h100-0',
        SA: 'turbo-runtime',
        I: 'turbo',
      },
    ],
    [
      'resourceFieldRef: requests rounded up, an unset limit reads the node allocatable',
      [
        { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'requests.cpu' } } },
        {
          name: 'MEM',
          valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Gi' } },
        },
        { name: 'LCPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
      ],
      { CPU: '1', MEM: '32', LCPU: '192' },
    ],
    [
      'ConfigMap and Secret keys; an optional missing key is left unset',
      [
        { name: 'M', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'MODE' } } },
        { name: 'T', valueFrom: { secretKeyRef: { name: 'token', key: 'TOKEN' } } },
        {
          name: 'O',
          valueFrom: { configMapKeyRef: { name: 'cfg', key: 'NONE', optional: true } },
        },
      ],
      { M: 'fast', T: 's3cret' },
    ],
  ])('%s', async (_n, env, want) => {
    expect(await render(env)).toEqual(want);
  });

  it('envFrom with a prefix comes first; env wins over it', async () => {
    const env = await render([{ name: 'CFG_MODE', value: 'slow' }], {
      envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }],
    });
    expect(env['CFG_MODE']).toBe('slow');
  });

  it.each([
    [
      'an unsupported fieldPath',
      [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'status.phase' } } }],
      /spec\.containers\[0\]\.env\[0\] \(X\): unsupported fieldPath "status.phase"/,
    ],
    [
      'a missing ConfigMap',
      [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'gone', key: 'k' } } }],
      /env\[0\] \(X\): ConfigMap "gone" not found/,
    ],
    [
      'a missing key',
      [{ name: 'X', valueFrom: { secretKeyRef: { name: 'token', key: 'nope' } } }],
      /Secret "token" has no key "nope"/,
    ],
  ])('names the field for %s', async (_n, env, message) => {
    await expect(render(env)).rejects.toThrow(message);
  });
});

describe('small parsers', () => {
  const labels = { app: 'a', tier: 'gpu' };
  it.each([
    ['app', true],
    ['!app', false],
    ['app=a', true],
    ['app==b', false],
    ['app!=b', true],
    ['tier in (cpu, gpu)', true],
    ['tier notin (gpu)', false],
    ['app=a,tier in (gpu)', true],
    ['app=a,missing', false],
    ['', false],
  ])('label selector "%s"', (selector, match) => {
    expect(parseSelector(selector)(labels)).toBe(match);
  });

  it('gives each runner its own pod range and hands out addresses without the network one', () => {
    // Each live cluster's runner has its own /24, named after the port only it can hold.
    expect(runnerPodCidr(41234)).toBe('127.161.18.0/24');
    expect(runnerPodCidr(41235)).not.toBe(runnerPodCidr(41234));
    expect(() => runnerPodCidr(80)).toThrow(/between 1024 and 65535/);
    const pool = new IpPool('127.1.128.0/30');
    expect([pool.allocate(), pool.allocate()]).toEqual(['127.1.128.1', '127.1.128.2']);
    expect(() => pool.allocate()).toThrow('exhausted');
    pool.release('127.1.128.1');
    expect(pool.allocate()).toBe('127.1.128.1');
    expect(pool.contains('127.1.0.5')).toBe(false);
  });

  it('backs off like kubelet: at once, then base doubling to the cap; a long run resets', () => {
    const b = new CrashBackoff({ baseMs: 10, maxMs: 50, resetAfterMs: 1_000 });
    expect([1, 1, 1, 1, 1, 1].map(() => b.next(5))).toEqual([0, 10, 20, 40, 50, 50]);
    expect(b.next(1_000)).toBe(0);
    expect(b.next(5)).toBe(10);
  });
});

describe('pod status as kubelet writes it', () => {
  const runtime = (view: Partial<ContainerView>): ContainerView => ({
    name: 'runtime',
    image: 'zimage-runtime:1',
    state: { kind: 'running', startedAt: '2026-01-01T00:00:00Z' },
    restartCount: 0,
    started: true,
    ready: false,
    ...view,
  });
  const view = (c: ContainerView, extra: Partial<PodView> = {}): PodView => ({
    hostIP: '127.0.0.1',
    podIP: '127.1.128.7',
    startTime: '2026-01-01T00:00:00Z',
    containers: [c],
    ...extra,
  });
  const base = pod([]);
  const cond = (s: Record<string, unknown>, type: string) =>
    (s['conditions'] as { type: string; status: string; lastTransitionTime: string }[]).find(
      (c) => c.type === type,
    );
  const now = new Date('2026-01-01T00:01:00Z');

  it.each([
    [
      'created, not started: Pending',
      runtime({ state: { kind: 'waiting', reason: 'ContainerCreating' }, started: false }),
      'Pending',
      'False',
    ],
    ['running, /readyz not yet 200: Running, not Ready', runtime({}), 'Running', 'False'],
    ['running and ready', runtime({ ready: true }), 'Running', 'True'],
    [
      'in crash back-off after a restart: still Running, not Ready',
      runtime({
        state: { kind: 'waiting', reason: 'CrashLoopBackOff' },
        restartCount: 1,
        started: false,
      }),
      'Running',
      'False',
    ],
  ] as const)('%s', (_n, c, phase, ready) => {
    const s = podStatus(base, view(c), now);
    expect(s['phase']).toBe(phase);
    expect(cond(s, 'Ready')?.status).toBe(ready);
    expect(cond(s, 'ContainersReady')?.status).toBe(ready);
    expect(s['podIP']).toBe('127.1.128.7');
  });

  it('keeps lastTransitionTime while a condition holds, moves it when it flips', () => {
    const before = {
      ...base,
      status: {
        conditions: [
          { type: 'Ready', status: 'False', lastTransitionTime: new Date('2026-01-01T00:00:00Z') },
          {
            type: 'Initialized',
            status: 'True',
            lastTransitionTime: new Date('2026-01-01T00:00:00Z'),
          },
        ],
      },
    } as V1Pod;
    const s = podStatus(before, view(runtime({ ready: true })), now);
    expect(cond(s, 'Initialized')?.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
    expect(cond(s, 'Ready')?.lastTransitionTime).toBe('2026-01-01T00:01:00Z');
    // Sent as null so the strategic merge patch clears the reason the False condition had.
    expect(cond(s, 'Ready')).toMatchObject({ reason: null, message: null });
  });

  it('reports the restart count, the last termination and the process as container id', () => {
    const s = podStatus(
      base,
      view(
        runtime({
          restartCount: 2,
          containerId: 'zimage-fleet://4242',
          last: {
            kind: 'terminated',
            exitCode: 137,
            signal: 9,
            reason: 'Error',
            startedAt: '2026-01-01T00:00:00Z',
            finishedAt: '2026-01-01T00:00:30Z',
          },
        }),
      ),
      now,
    );
    const [status] = s['containerStatuses'] as Record<string, unknown>[];
    expect(status).toMatchObject({
      restartCount: 2,
      containerID: 'zimage-fleet://4242',
      lastState: { terminated: { exitCode: 137, reason: 'Error' } },
      state: { running: { startedAt: '2026-01-01T00:00:00Z' } },
    });
  });
});
