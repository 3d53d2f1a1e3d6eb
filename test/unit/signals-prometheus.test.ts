/**
 * The Prometheus signal source against a fake Prometheus on 127.0.0.1 that answers each of
 * the tick's queries with a real-shaped API body (KEDA's prometheus_scaler_test style): NaN,
 * "+Inf", empty, several series, error status, HTML from a proxy, a matrix, a hang, a refused
 * connection. The real Prometheus is in test/integration/prometheus-source.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerResponse } from 'node:http';
import {
  PrometheusSource,
  prometheusQueries,
  queriesPerTick,
  type QueryName,
} from '../../src/operator/signals/prometheus/source.ts';
import type { SignalTarget } from '../../src/operator/signals/sample.ts';
import {
  closedPort,
  localServer,
  perKey,
  vector,
  type LocalServer,
} from '../support/signal-bodies.ts';
import { parseKey } from '../../src/contract/object-key.ts';

type Reply = { status?: number; body: string; type?: string } | 'hang';

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const byText = new Map(
  Object.entries(prometheusQueries).map(([name, q]) => [q, name as QueryName]),
);

/** A fake Prometheus: each query gets its reply from `world`, an empty vector by default. */
async function fakePrometheus(world: Partial<Record<QueryName, Reply>>) {
  const seen: QueryName[] = [];
  const held: ServerResponse[] = [];
  const server = await localServer((req, body, res) => {
    const query = new URLSearchParams(body).get('query') ?? '';
    const name = byText.get(query);
    if (req.url !== '/api/v1/query' || req.method !== 'POST' || !name) {
      return void res
        .writeHead(400)
        .end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: `unknown ${query}` }));
    }
    seen.push(name);
    const reply = world[name] ?? { body: vector([]) };
    if (reply === 'hang') return void held.push(res);
    res
      .writeHead(reply.status ?? 200, { 'content-type': reply.type ?? 'application/json' })
      .end(reply.body);
  });
  servers.push(server);
  return { server, seen };
}

const turbo = { namespace: 'ml', name: 'turbo' };
const canary = { namespace: 'ml', name: 'turbo-canary' };
const pod = (ns: string, name: string) => ({ namespace: ns, name, ip: '10.0.0.1', port: 8080 });
const target = (t: { namespace: string; name: string }, url: string, pods = 2): SignalTarget => ({
  ...t,
  prometheusUrl: url,
  pods: Array.from({ length: pods }, (_, i) => pod(t.namespace, `${t.name}-7d9f8c6b5-${i}`)),
});

/** `up` per pod of an object: 1 for each of `up`, 0 for each of `down`. */
function targets(key: string, up: number, down = 0) {
  const { namespace, name } = parseKey(key);
  return Array.from({ length: up + down }, (_, i) => ({
    labels: { namespace, zimage_deployment: name, pod: `${name}-${i}`, job: name },
    value: i < up ? '1' : '0',
  }));
}

const healthy: Partial<Record<QueryName, Reply>> = {
  targets: { body: vector([...targets('ml/turbo', 2), ...targets('ml/turbo-canary', 1)]) },
  gpuUtilization: { body: vector(perKey({ 'ml/turbo': '50', 'ml/turbo-canary': '99' })) },
  vramUsedRatio: { body: vector(perKey({ 'ml/turbo': '0.75', 'ml/turbo-canary': '0.5' })) },
  vramUsedBytes: { body: vector(perKey({ 'ml/turbo': String(12 * 2 ** 30) })) },
  vramTotalBytes: { body: vector(perKey({ 'ml/turbo': String(16 * 2 ** 30) })) },
  latencyP95Seconds: { body: vector(perKey({ 'ml/turbo': '1.95' })) },
  queueDepth: { body: vector(perKey({ 'ml/turbo': '7', 'ml/turbo-canary': '0' })) },
  inflight: { body: vector(perKey({ 'ml/turbo': '2' })) },
  waitP95Seconds: { body: vector(perKey({ 'ml/turbo': '16.5' })) },
  // Only turbo runs routers.
  routerQueuedImages: { body: vector(perKey({ 'ml/turbo': '12' })) },
  arrivedImagesPerSecond: { body: vector(perKey({ 'ml/turbo': '3.5' })) },
};

type Want = { value: number; note?: RegExp } | { reason: string; message?: RegExp };

const cases: {
  name: string;
  world: Partial<Record<QueryName, Reply>>;
  signal: QueryName;
  key?: string;
  want: Want;
}[] = [
  {
    name: 'a value per object from a vector',
    world: healthy,
    signal: 'gpuUtilization',
    want: { value: 50 },
  },
  {
    name: 'the other object of the same answer',
    world: healthy,
    signal: 'gpuUtilization',
    key: 'ml/turbo-canary',
    want: { value: 99 },
  },
  {
    name: 'a zero is a value (idle queue), not missing',
    world: healthy,
    signal: 'queueDepth',
    key: 'ml/turbo-canary',
    want: { value: 0 },
  },
  {
    name: 'VRAM bytes as Prometheus computed them',
    world: healthy,
    signal: 'vramTotalBytes',
    want: { value: 16 * 2 ** 30 },
  },
  {
    name: 'NaN utilization is missing (NotANumber), never 0',
    world: { ...healthy, gpuUtilization: { body: vector(perKey({ 'ml/turbo': 'NaN' })) } },
    signal: 'gpuUtilization',
    want: { reason: 'NotANumber' },
  },
  {
    name: '"+Inf" is missing (Infinite)',
    world: { ...healthy, vramUsedRatio: { body: vector(perKey({ 'ml/turbo': '+Inf' })) } },
    signal: 'vramUsedRatio',
    want: { reason: 'Infinite', message: /\+Inf/ },
  },
  {
    name: 'NaN latency (no image in the rate window) is NoObservations',
    world: { ...healthy, latencyP95Seconds: { body: vector(perKey({ 'ml/turbo': 'NaN' })) } },
    signal: 'latencyP95Seconds',
    want: { reason: 'NoObservations', message: /1m/ },
  },
  {
    name: "the client's wait, and the routers' demand",
    world: healthy,
    signal: 'arrivedImagesPerSecond',
    want: { value: 3.5 },
  },
  {
    name: 'NaN client wait (no image in the rate window) is NoObservations',
    world: { ...healthy, waitP95Seconds: { body: vector(perKey({ 'ml/turbo': 'NaN' })) } },
    signal: 'waitP95Seconds',
    want: { reason: 'NoObservations', message: /1m/ },
  },
  {
    name: 'an object without routers: router signals are NoData that names the router',
    world: healthy,
    signal: 'routerQueuedImages',
    key: 'ml/turbo-canary',
    want: { reason: 'NoData', message: /router series \(is spec.router.enabled/ },
  },
  {
    name: 'an empty result is NoData, never 0 (keda#3065)',
    world: { ...healthy, queueDepth: { body: vector([]) } },
    signal: 'queueDepth',
    want: { reason: 'NoData' },
  },
  {
    name: 'several series for one object: the max, with a note',
    world: {
      ...healthy,
      gpuUtilization: {
        body: vector([
          { labels: { namespace: 'ml', zimage_deployment: 'turbo', replica: 'a' }, value: '40' },
          { labels: { namespace: 'ml', zimage_deployment: 'turbo', replica: 'b' }, value: '60' },
        ]),
      },
    },
    signal: 'gpuUtilization',
    want: { value: 60, note: /2 series for one object: took the max/ },
  },
  {
    name: 'status "error" (400 bad_data): SourceDown with the error type and status, not the text',
    world: {
      ...healthy,
      latencyP95Seconds: {
        status: 400,
        body: JSON.stringify({
          status: 'error',
          errorType: 'bad_data',
          error: 'parse error at char 3',
        }),
      },
    },
    signal: 'latencyP95Seconds',
    want: {
      reason: 'SourceDown',
      message: /\/api\/v1\/query: Prometheus error bad_data \(HTTP 400 Bad Request\)$/,
    },
  },
  {
    name: '... and the other signals of the tick still come through',
    world: {
      ...healthy,
      latencyP95Seconds: {
        status: 503,
        body: '{"status":"error","errorType":"unavailable","error":"x"}',
      },
    },
    signal: 'queueDepth',
    want: { value: 7 },
  },
  {
    name: 'a proxy’s HTML 502 is SourceDown naming the status',
    world: {
      ...healthy,
      queueDepth: { status: 502, type: 'text/html', body: '<html>Bad Gateway</html>' },
    },
    signal: 'queueDepth',
    want: { reason: 'SourceDown', message: /: HTTP 502 Bad Gateway$/ },
  },
  {
    name: 'a matrix where a vector belongs is SourceDown (zod names the field)',
    world: {
      ...healthy,
      inflight: {
        body: JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [] } }),
      },
    },
    signal: 'inflight',
    want: { reason: 'SourceDown', message: /data\.resultType/ },
  },
  {
    name: 'a value that is no number is SourceDown, not NaN',
    world: { ...healthy, inflight: { body: vector(perKey({ 'ml/turbo': 'lots' })) } },
    signal: 'inflight',
    want: { reason: 'SourceDown', message: /must be a number/ },
  },
  {
    name: 'all runtime targets down: runtime signals Stale',
    world: { ...healthy, targets: { body: vector(targets('ml/turbo', 0, 2)) } },
    signal: 'queueDepth',
    want: { reason: 'Stale', message: /all 2 of its targets/ },
  },
  {
    name: '... while the GPU (a separate exporter target) still reads',
    world: { ...healthy, targets: { body: vector(targets('ml/turbo', 0, 2)) } },
    signal: 'gpuUtilization',
    want: { value: 50 },
  },
  {
    name: 'some targets down: the value from the rest, with a note',
    world: { ...healthy, targets: { body: vector(targets('ml/turbo', 1, 1)) } },
    signal: 'queueDepth',
    want: { value: 7, note: /1 of 2 targets down: value from the other 1/ },
  },
  {
    name: 'Prometheus scrapes none of its pods: NoTargets, naming the ServiceMonitor',
    world: { ...healthy, targets: { body: vector(targets('ml/turbo-canary', 1)) } },
    signal: 'gpuUtilization',
    want: { reason: 'NoTargets', message: /ServiceMonitor/ },
  },
  {
    name: 'dcgm series under exported_pod only: MissingPodLabel, naming honorLabels',
    world: {
      ...healthy,
      vramUsedRatio: { body: vector([]) },
      renamedDcgm: { body: vector(perKey({ 'ml/turbo': '2' })) },
    },
    signal: 'vramUsedRatio',
    want: { reason: 'MissingPodLabel', message: /honorLabels: true/ },
  },
];

function check(got: unknown, want: Want) {
  if ('value' in want) {
    expect(got).toMatchObject({ ok: true, value: want.value });
    if (want.note) expect((got as { note?: string }).note).toMatch(want.note);
    else expect((got as { note?: string }).note).toBeUndefined();
  } else {
    expect(got).toMatchObject({ ok: false, reason: want.reason });
    if (want.message) expect((got as { message: string }).message).toMatch(want.message);
  }
}

describe('Prometheus source: real-shaped API answers', () => {
  it.each(cases)('$name', async ({ world, signal, key, want }) => {
    const { server } = await fakePrometheus(world);
    const source = new PrometheusSource();
    const sample = await source.sample(
      [target(turbo, server.url), target(canary, server.url, 1)],
      1000,
    );
    const signals = sample.byKey.get(key ?? 'ml/turbo');
    expect(signals).toBeDefined();
    check(signals![signal as keyof typeof signals], want);
  });

  it('says what each value rests on: dcgm 30 s, runtime 5 s, latency over the 1m rate window', async () => {
    const { server } = await fakePrometheus(healthy);
    const sample = await new PrometheusSource().sample([target(turbo, server.url)], 5000);
    const s = sample.byKey.get('ml/turbo')!;
    expect(s.gpuUtilization).toMatchObject({ intervalSeconds: 30, at: 1_767_225_600_000 });
    expect(s.queueDepth).toMatchObject({ intervalSeconds: 5 });
    expect(s.latencyP95Seconds).toMatchObject({ intervalSeconds: 5, windowSeconds: 60 });
    expect(sample).toMatchObject({ source: 'prometheus', at: 5000, requests: queriesPerTick });
  });
});

describe('Prometheus source: a failing Prometheus', () => {
  it('a hang: every signal of every object on that URL is SourceDown after the deadline', async () => {
    const { server } = await fakePrometheus(
      Object.fromEntries(Object.keys(prometheusQueries).map((q) => [q, 'hang'])),
    );
    const started = performance.now();
    const sample = await new PrometheusSource({ timeoutMs: 200 }).sample(
      [target(turbo, server.url), target(canary, server.url)],
      0,
    );
    expect(performance.now() - started).toBeLessThan(2000);
    for (const signals of sample.byKey.values()) {
      for (const reading of Object.values(signals)) {
        expect(reading).toMatchObject({ ok: false, reason: 'SourceDown' });
        expect((reading as { message: string }).message).toMatch(/no answer within 200 ms/);
      }
    }
  });

  it('connection refused: SourceDown for the objects of that URL only', async () => {
    const { server } = await fakePrometheus(healthy);
    const down = `http://127.0.0.1:${await closedPort()}`;
    const sample = await new PrometheusSource().sample(
      [target(turbo, server.url), target({ namespace: 'ml', name: 'turbo-canary' }, down)],
      0,
    );
    expect(sample.byKey.get('ml/turbo')!.queueDepth).toMatchObject({ ok: true, value: 7 });
    const other = sample.byKey.get('ml/turbo-canary')!;
    for (const reading of Object.values(other)) {
      expect(reading).toMatchObject({ ok: false, reason: 'SourceDown' });
      expect((reading as { message: string }).message).toMatch(/connection refused/);
    }
  });

  it.each([
    { name: 'no Prometheus URL: NotConfigured', withUrl: false, pods: 1, reason: 'NotConfigured' },
    { name: 'no running pod: NoPods', withUrl: true, pods: 0, reason: 'NoPods' },
  ])('$name', async ({ withUrl, pods, reason }) => {
    const { server } = await fakePrometheus(healthy);
    const t: SignalTarget = target(turbo, server.url, pods);
    const sample = await new PrometheusSource().sample(
      [withUrl ? t : { namespace: t.namespace, name: t.name, pods: t.pods }],
      0,
    );
    expect(sample.byKey.get('ml/turbo')!.gpuUtilization).toMatchObject({ ok: false, reason });
    expect(server.requests).toBe(withUrl ? queriesPerTick : 0);
  });
});

describe('Prometheus source: batched', () => {
  it.each([1, 100])('%i objects: the same fixed set of queries, each once', async (n) => {
    const { server, seen } = await fakePrometheus(healthy);
    const many = Array.from({ length: n }, (_, i) =>
      target({ namespace: 'ml', name: `z${i}` }, server.url),
    );
    const sample = await new PrometheusSource().sample(many, 0);
    expect(seen.sort()).toEqual(Object.keys(prometheusQueries).sort());
    expect(server.requests).toBe(queriesPerTick);
    expect(sample.byKey.size).toBe(n);
  });

  it('two Prometheus URLs: one set of queries each', async () => {
    const a = await fakePrometheus(healthy);
    const b = await fakePrometheus(healthy);
    await new PrometheusSource().sample(
      [
        target(turbo, a.server.url),
        target(canary, b.server.url),
        target({ namespace: 'x', name: 'y' }, a.server.url),
      ],
      0,
    );
    expect([a.server.requests, b.server.requests]).toEqual([queriesPerTick, queriesPerTick]);
  });
});
