import { createServer, type ServerResponse } from 'node:http';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LiveConfig, OffloadMode } from '../../src/contract/runtime.ts';
import {
  LiveConfigStore,
  LiveConfigWatcher,
  OffloadFollower,
  readLiveConfig,
} from '../../src/runtime/live-config.ts';
import { createRuntimeMetrics } from '../../src/runtime/metrics.ts';
import { FakeClock } from '../support/fake-clock.ts';
import { listenAsApiServer } from '../support/loopback-api.ts';

const doc = (value: unknown) => ({ data: { 'config.json': JSON.stringify(value) } });

describe('reading the live config document', () => {
  it.each([
    [
      'valid',
      doc({ steps: 6, offload: 'model' }),
      { ok: true, config: { steps: 6, offload: 'model' } },
    ],
    ['missing ConfigMap', undefined, { ok: false, reason: 'missing' }],
    ['no data', {}, { ok: false, reason: 'missing_key' }],
    ['other keys only', { data: { 'other.json': '{}' } }, { ok: false, reason: 'missing_key' }],
    ['not JSON', { data: { 'config.json': '{steps: 6' } }, { ok: false, reason: 'invalid_json' }],
    [
      'steps out of range',
      doc({ steps: 51, offload: 'none' }),
      { ok: false, reason: 'invalid_config' },
    ],
    [
      'steps fractional',
      doc({ steps: 4.5, offload: 'none' }),
      { ok: false, reason: 'invalid_config' },
    ],
    [
      'unknown offload',
      doc({ steps: 6, offload: 'disk' }),
      { ok: false, reason: 'invalid_config' },
    ],
    ['missing field', doc({ steps: 6 }), { ok: false, reason: 'invalid_config' }],
    [
      'unknown field',
      doc({ steps: 6, offload: 'none', attention: 'math' }),
      { ok: false, reason: 'invalid_config' },
    ],
    ['not an object', doc([6, 'none']), { ok: false, reason: 'invalid_config' }],
  ])('%s', (_name, configMap, expected) => {
    expect(readLiveConfig(configMap)).toMatchObject(expected);
  });

  it('names the bad field in the message', () => {
    const result = readLiveConfig(doc({ steps: 0, offload: 'none' }));
    expect(result.ok ? '' : result.message).toMatch(/^steps: /);
  });
});

describe('keeping the last good config', () => {
  it('changes only on a good, different document', () => {
    const store = new LiveConfigStore({ steps: 9, offload: 'none' });
    const steps = (n: number, offload: OffloadMode = 'none') =>
      readLiveConfig(doc({ steps: n, offload }));
    // [read, previous returned (changed) or undefined, current afterwards]
    const rows: [string, ReturnType<typeof readLiveConfig>, LiveConfig | undefined, LiveConfig][] =
      [
        ['same as start', steps(9), undefined, { steps: 9, offload: 'none' }],
        ['steps change', steps(6), { steps: 9, offload: 'none' }, { steps: 6, offload: 'none' }],
        [
          'invalid: kept',
          readLiveConfig(doc({ steps: 99, offload: 'none' })),
          undefined,
          { steps: 6, offload: 'none' },
        ],
        ['missing: kept', readLiveConfig(undefined), undefined, { steps: 6, offload: 'none' }],
        [
          'offload change',
          steps(6, 'cpu'),
          { steps: 6, offload: 'none' },
          { steps: 6, offload: 'cpu' },
        ],
      ];
    for (const [name, read, changedFrom, after] of rows) {
      expect(store.offer(read), name).toEqual(changedFrom);
      expect(store.current(), name).toEqual(after);
    }
  });
});

describe('following the offload mode', () => {
  it('switches one at a time to the latest wish, and retries after a failure', async () => {
    const calls: OffloadMode[] = [];
    let fail = true;
    const results: [OffloadMode, boolean][] = [];
    const follower = new OffloadFollower(
      {
        setOffload: async (mode) => {
          calls.push(mode);
          await new Promise((resolve) => setTimeout(resolve, 5));
          if (fail) throw new Error('cannot create sessions');
        },
      },
      'none',
      (mode, err) => results.push([mode, err === undefined]),
    );
    await follower.follow('model');
    expect(results).toEqual([['model', false]]);
    fail = false;
    const first = follower.follow('model');
    // Wishes made while a switch runs: only the last one is applied after it.
    void follower.follow('none');
    void follower.follow('cpu');
    await first;
    expect(calls).toEqual(['model', 'model', 'cpu']);
    expect(results.slice(1)).toEqual([
      ['model', true],
      ['cpu', true],
    ]);
    await follower.follow('cpu');
    expect(calls).toHaveLength(3);
  });
});

/** A stand-in for the API server's ConfigMap list and watch endpoints. */
function fakeApiServer() {
  const state = {
    configMap: undefined as V1ConfigMap | undefined,
    listStatus: 200,
    resourceVersion: 10,
    requests: [] as URL[],
    watches: [] as ServerResponse[],
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    state.requests.push(url);
    if (url.pathname !== '/api/v1/namespaces/ns/configmaps') {
      res.writeHead(404).end();
    } else if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
      state.watches.push(res);
    } else if (state.listStatus !== 200) {
      res.writeHead(state.listStatus, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'Forbidden',
          code: state.listStatus,
          message:
            'configmaps is forbidden: User "system:serviceaccount:ns:zimage" cannot list resource "configmaps"',
        }),
      );
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          kind: 'ConfigMapList',
          apiVersion: 'v1',
          metadata: { resourceVersion: String(state.resourceVersion) },
          items: state.configMap ? [state.configMap] : [],
        }),
      );
    }
  });
  const send = (type: string, object: unknown) => {
    for (const res of state.watches) res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const endWatches = () => {
    for (const res of state.watches.splice(0)) res.end();
  };
  return { server, state, send, endWatches };
}

const configMap = (config: string): V1ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'cm', namespace: 'ns', resourceVersion: '11' },
  data: { 'config.json': config },
});

describe('watching the ConfigMap through the API', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('lists, watches, keeps the last good config, counts errors by reason, recovers', async () => {
    const api = fakeApiServer();
    const kubeConfig = await listenAsApiServer(api.server);
    const metrics = createRuntimeMetrics();
    const seen: LiveConfig[] = [];
    const clock = new FakeClock();
    api.state.configMap = configMap('{"steps": 6, "offload": "model"}');
    const watcher = new LiveConfigWatcher({
      kubeConfig,
      namespace: 'ns',
      name: 'cm',
      initial: { steps: 9, offload: 'none' },
      log: pino({ level: process.env['DEBUG_LIVE'] ? 'debug' : 'silent' }),
      metrics,
      onConfig: (config) => seen.push(config),
      clock,
    });
    cleanup = async () => {
      watcher.stop();
      api.endWatches();
      await new Promise((resolve) => api.server.close(resolve));
    };
    const errors = async (reason: string) =>
      (await metrics.configErrors.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

    await watcher.start();
    expect(watcher.currentLiveConfig()).toEqual({ steps: 6, offload: 'model' });
    expect(api.state.requests[0]?.searchParams.get('fieldSelector')).toBe('metadata.name=cm');
    await vi.waitFor(() => expect(api.state.watches).toHaveLength(1));
    const watch = api.state.requests.find((u) => u.searchParams.get('watch') === 'true');
    expect(watch?.searchParams.get('fieldSelector')).toBe('metadata.name=cm');
    expect(watch?.searchParams.get('resourceVersion')).toBe('10');

    // Bad documents: the last good config stays; each is counted by reason.
    const bad: [string, V1ConfigMap | undefined, string][] = [
      ['MODIFIED', configMap('{"steps": 6,'), 'invalid_json'],
      ['MODIFIED', configMap('{"steps": 99, "offload": "none"}'), 'invalid_config'],
      ['MODIFIED', { ...configMap(''), data: {} }, 'missing_key'],
      ['DELETED', configMap('{"steps": 6, "offload": "model"}'), 'missing'],
    ];
    for (const [type, object, reason] of bad) {
      api.send(type, object);
      await vi.waitFor(async () => expect(await errors(reason)).toBe(1));
      expect(watcher.currentLiveConfig()).toEqual({ steps: 6, offload: 'model' });
    }

    // A good change applies.
    api.send('MODIFIED', configMap('{"steps": 4, "offload": "cpu"}'));
    await vi.waitFor(() =>
      expect(watcher.currentLiveConfig()).toEqual({ steps: 4, offload: 'cpu' }),
    );
    expect(seen.at(-1)).toEqual({ steps: 4, offload: 'cpu' });

    // The watch ends cleanly: list again at once. The API now refuses (RBAC): counted as
    // unreadable, config kept, retried after 1 s, then 2 s (backoff doubles).
    api.state.listStatus = 403;
    api.endWatches();
    await vi.waitFor(() => expect(clock.pending()).toEqual([0]));
    await clock.advance(0);
    await vi.waitFor(() => expect(clock.pending()).toEqual([1_000]));
    expect(await errors('unreadable')).toBe(1);
    expect(watcher.currentLiveConfig()).toEqual({ steps: 4, offload: 'cpu' });
    await clock.advance(1_000);
    await vi.waitFor(() => expect(clock.pending()).toEqual([2_000]));
    expect(await errors('unreadable')).toBe(2);

    // The API answers again: the retry due at 2 s lists and watches afresh.
    api.state.listStatus = 200;
    api.state.configMap = configMap('{"steps": 8, "offload": "none"}');
    await clock.advance(1_999);
    expect(clock.pending()).toEqual([1]);
    expect(watcher.currentLiveConfig()).toEqual({ steps: 4, offload: 'cpu' });
    await clock.advance(1);
    await vi.waitFor(() =>
      expect(watcher.currentLiveConfig()).toEqual({ steps: 8, offload: 'none' }),
    );
    await vi.waitFor(() => expect(api.state.watches).toHaveLength(1));
  });
});
