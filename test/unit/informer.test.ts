/**
 * The informer's watchdog and periodic relist on the fake clock: a fake list function and a
 * fake watch endpoint on 127.0.0.1 that holds each watch open (a stalled watch looks the
 * same). The real API server's version is in test/integration/operator-failures.test.ts.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ResilientInformer } from '../../src/operator/k8s/informer.ts';
import { createMetrics } from '../../src/operator/metrics.ts';
import { FakeClock } from '../support/fake-clock.ts';
import { listenAsApiServer } from '../support/loopback-api.ts';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

interface SetupOptions {
  watchdogMs: number;
  relistMs: number;
  /** What the list answers (default: nothing). */
  items?: V1ConfigMap[];
  transform?: (cm: V1ConfigMap) => V1ConfigMap;
}

async function setup({ items = [], ...options }: SetupOptions) {
  const watches: ServerResponse[] = [];
  const server = createServer((req, res) => {
    if (!req.url?.includes('watch=true')) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
    watches.push(res);
  });
  const kubeConfig = await listenAsApiServer(server);
  const clock = new FakeClock();
  const metrics = createMetrics();
  let lists = 0;
  const events: string[] = [];
  const handed: V1ConfigMap[] = [];
  const informer = new ResilientInformer<V1ConfigMap>({
    kubeConfig,
    resource: 'configmaps',
    path: '/api/v1/namespaces/ns/configmaps',
    list: () => {
      lists++;
      return Promise.resolve({
        apiVersion: 'v1',
        kind: 'ConfigMapList',
        metadata: { resourceVersion: '1' },
        items: structuredClone(items),
      });
    },
    onEvent: (type, obj) => {
      events.push(`${type} ${obj.metadata?.name}`);
      handed.push(obj);
    },
    log: pino({ level: 'silent' }),
    metrics,
    clock,
    ...options,
  });
  cleanup = async () => {
    informer.stop();
    for (const res of watches) res.end();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  const restarts = async (reason: string) =>
    (await metrics.watchRestarts.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  /** Wait until `n` watches have connected (each informer generation opens one). */
  const watching = (n: number) =>
    vi.waitFor(() => expect(watches).toHaveLength(n), { interval: 2 });
  await informer.start();
  /** Send one watch event on the newest watch. */
  const send = (type: string, object: object) =>
    watches.at(-1)?.write(`${JSON.stringify({ type, object })}\n`);
  return { clock, informer, watches, events, handed, send, lists: () => lists, restarts, watching };
}

describe('ResilientInformer', () => {
  it('replaces a watch that has been silent for longer than the watchdog window (60 s); an event counts as life', async () => {
    const t = await setup({ watchdogMs: 60_000, relistMs: 600_000 });
    await t.watching(1);
    expect(t.lists()).toBe(1);
    // Checked every 5 s: at 60 s the watch has been quiet for exactly the window, not longer.
    await t.clock.advance(60_000);
    expect(t.lists()).toBe(1);
    await t.clock.advance(5_000);
    await vi.waitFor(() => expect(t.lists()).toBe(2));
    await t.watching(2);
    expect(await t.restarts('watchdog')).toBe(1);

    // An event at 115 s: quiet again from then, so the next restart is at 180 s, not 125 s.
    await t.clock.advance(50_000);
    const object = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cm', namespace: 'ns', resourceVersion: '2' },
    };
    t.watches.at(-1)?.write(`${JSON.stringify({ type: 'ADDED', object })}\n`);
    await vi.waitFor(() => expect(t.events).toEqual(['add cm']));
    await t.clock.advance(60_000);
    expect(t.lists()).toBe(2);
    await t.clock.advance(5_000);
    await vi.waitFor(() => expect(t.lists()).toBe(3));
    expect(await t.restarts('watchdog')).toBe(2);
  });

  it('caches and hands on only what the transform keeps, of listed and watched objects alike', async () => {
    const full = (name: string, resourceVersion: string): V1ConfigMap => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace: 'ns',
        resourceVersion,
        managedFields: [{ manager: 'kubectl', operation: 'Apply' }],
      },
      data: { 'config.json': '{"steps":8}' },
    });
    const transform = ({ metadata }: V1ConfigMap): V1ConfigMap => ({
      metadata: {
        name: metadata!.name!,
        namespace: 'ns',
        resourceVersion: metadata!.resourceVersion!,
      },
    });
    const trimmed = (name: string, resourceVersion: string) => ({
      metadata: { name, namespace: 'ns', resourceVersion },
    });
    const t = await setup({
      watchdogMs: 60_000,
      relistMs: 600_000,
      items: [full('listed', '1')],
      transform,
    });
    await t.watching(1);
    expect(t.informer.get('listed', 'ns')).toEqual(trimmed('listed', '1'));

    t.send('ADDED', full('watched', '2'));
    await vi.waitFor(() =>
      expect(t.informer.get('watched', 'ns')).toEqual(trimmed('watched', '2')),
    );
    t.send('MODIFIED', full('watched', '3'));
    await vi.waitFor(() =>
      expect(t.informer.get('watched', 'ns')).toEqual(trimmed('watched', '3')),
    );
    // A bookmark carries only a resourceVersion: passed on untouched, it moves the watch on.
    t.send('BOOKMARK', { kind: 'ConfigMap', metadata: { resourceVersion: '4' } });
    t.send('DELETED', full('watched', '5'));
    await vi.waitFor(() => expect(t.informer.get('watched', 'ns')).toBeUndefined());

    expect(t.events).toEqual(['add listed', 'add watched', 'update watched', 'delete watched']);
    expect(t.handed).toEqual([
      trimmed('listed', '1'),
      trimmed('watched', '2'),
      trimmed('watched', '3'),
      trimmed('watched', '5'),
    ]);
  });

  it('relists every relist interval (600 s) even while the watch is healthy', async () => {
    const t = await setup({ watchdogMs: 3_600_000, relistMs: 600_000 });
    await t.watching(1);
    await t.clock.advance(600_000);
    expect(t.lists()).toBe(1);
    await t.clock.advance(5_000);
    await vi.waitFor(() => expect(t.lists()).toBe(2));
    expect(await t.restarts('relist')).toBe(1);
    expect(await t.restarts('watchdog')).toBe(0);
  });
});
