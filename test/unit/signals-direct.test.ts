/**
 * The direct source against pods on 127.0.0.1: runtime pods serving /metrics rendered by the
 * runtime's own Registry, dcgm-exporter pods serving its text format with pod/namespace labels
 * (or exported_*). Time is the `now` each tick passes in; no real waits except the deadlines
 * of the scrapes that must time out.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ExporterRef } from '../../src/operator/signals/direct/dcgm.ts';
import {
  DirectSource,
  type DirectSourceOptions,
} from '../../src/operator/signals/direct/source.ts';
import type { FetchErrorReason } from '../../src/operator/signals/http.ts';
import type { PodRef, Reading, SignalName } from '../../src/operator/signals/sample.ts';
import {
  closedPort,
  dcgmBody,
  localServer,
  routerBody,
  runtimeBody,
  type DcgmGpu,
  type LocalServer,
  type RouterState,
  type RuntimeState,
} from '../support/signal-bodies.ts';

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

type Mode = 'ok' | 'http500' | 'hang' | 'garbage';

/** A runtime pod: its state and how it answers can change between ticks. */
async function runtimePod(name: string, state: RuntimeState, node = 'gpu-node-1') {
  const pod = { state, mode: 'ok' as Mode };
  const server = await localServer((_req, _body, res) => {
    if (pod.mode === 'hang') return;
    if (pod.mode === 'http500') return void res.writeHead(500).end('internal');
    if (pod.mode === 'garbage') return void res.writeHead(200).end('<html>not metrics</html>\n');
    void runtimeBody(pod.state).then((body) => res.writeHead(200).end(body));
  });
  servers.push(server);
  const ref: PodRef = { namespace: 'ml', name, ip: '127.0.0.1', port: server.port, nodeName: node };
  return Object.assign(pod, { ref });
}

async function exporter(gpus: DcgmGpu[], node = 'gpu-node-1', collectIntervalMs = 1000) {
  const state = { gpus, down: false };
  const server = await localServer((_req, _body, res) => {
    if (state.down) return void res.writeHead(503).end('DCGM not ready');
    res.writeHead(200).end(dcgmBody(state.gpus));
  });
  servers.push(server);
  const ref: ExporterRef = {
    namespace: 'gpu-operator',
    name: `nvidia-dcgm-exporter-${node}`,
    ip: '127.0.0.1',
    port: server.port,
    nodeName: node,
    collectIntervalMs,
  };
  return Object.assign(state, { ref });
}

const gib = 1024;

function source(exporters: ExporterRef[], options: Partial<DirectSourceOptions> = {}) {
  const failures: { endpoint: string; reason: FetchErrorReason }[] = [];
  const src = new DirectSource({
    exporters: () => Promise.resolve(exporters),
    observer: {
      sampled: () => undefined,
      failed: (endpoint, reason) => void failures.push({ endpoint, reason }),
    },
    ...options,
  });
  return { src, failures };
}

const turbo = (pods: PodRef[]) => ({ namespace: 'ml', name: 'turbo', pods });

async function tick(src: DirectSource, pods: PodRef[], now: number) {
  const sample = await src.sample([turbo(pods)], now);
  return sample.byKey.get('ml/turbo')!;
}

const value = (r: Reading) => (r.ok ? r.value : `${r.reason}: ${r.message}`);

describe('direct source: runtime pods', () => {
  it('the first scrape: gauges summed, GPUs mapped by pod label, latency WindowNotFilled', async () => {
    const a = await runtimePod('turbo-a', { queueDepth: 3, inflight: 1, generations: [1.5] });
    const b = await runtimePod('turbo-b', { queueDepth: 4, inflight: 1 });
    const dcgm = await exporter([
      { gpu: 0, holder: 'ml/turbo-a', util: 40, usedMiB: 8 * gib, freeMiB: 8 * gib },
      { gpu: 1, holder: 'ml/turbo-b', util: 60, usedMiB: 12 * gib, freeMiB: 4 * gib },
      // A GPU of someone else on the node: never counted.
      { gpu: 2, holder: 'ml/trainer-0', util: 100, usedMiB: 80 * gib, freeMiB: 0 },
    ]);
    const { src } = source([dcgm.ref]);
    const s = await tick(src, [a.ref, b.ref], 0);
    expect(value(s.queueDepth)).toBe(7);
    expect(value(s.inflight)).toBe(2);
    expect(value(s.gpuUtilization)).toBe(50);
    expect(value(s.vramUsedRatio)).toBe(0.75);
    expect(value(s.vramUsedBytes)).toBe(12 * 2 ** 30);
    expect(value(s.vramTotalBytes)).toBe(16 * 2 ** 30);
    expect(s.latencyP95Seconds).toMatchObject({ ok: false, reason: 'WindowNotFilled' });
  });

  it('latency: p95 of the images between two scrapes only, like histogram_quantile over rate', async () => {
    // 100 fast images before the first scrape, then 20 at 1.5 s: cumulative buckets would
    // say p95 0.5 s; the delta says 1 + (2 - 1) x 19/20 = 1.95 s.
    const a = await runtimePod('turbo-a', { generations: Array<number>(100).fill(0.4) });
    const { src } = source([]);
    await tick(src, [a.ref], 0);
    a.state.generations = [...a.state.generations!, ...Array<number>(20).fill(1.5)];
    const s = await tick(src, [a.ref], 1000);
    expect(s.latencyP95Seconds).toMatchObject({ ok: true, windowSeconds: 1, intervalSeconds: 1 });
    expect(value(s.latencyP95Seconds)).toBeCloseTo(1.95, 9);
  });

  it('latency: images older than the window no longer count', async () => {
    const a = await runtimePod('turbo-a', { generations: [] });
    const { src } = source([], { windowMs: 10_000 });
    await tick(src, [a.ref], 0);
    a.state.generations = Array<number>(20).fill(19); // slow, at t = 1 s
    await tick(src, [a.ref], 1000);
    await tick(src, [a.ref], 6000);
    a.state.generations = [...a.state.generations, ...Array<number>(20).fill(1.5)];
    const s = await tick(src, [a.ref], 12_000);
    // The window [2 s, 12 s] starts at the 6 s scrape: only the 1.5 s images.
    expect(s.latencyP95Seconds).toMatchObject({ ok: true, windowSeconds: 6 });
    expect(value(s.latencyP95Seconds)).toBeCloseTo(1.95, 9);
  });

  it.each([
    {
      name: 'counter reset (pod restarted): the new counts are the increase',
      after: Array<number>(10).fill(19),
      want: 19.75,
    },
    {
      name: 'no image between the scrapes: NoObservations, not a 0 s p95',
      after: Array<number>(50).fill(1.5),
      want: 'NoObservations',
    },
  ])('$name', async ({ after, want }) => {
    const a = await runtimePod('turbo-a', { generations: Array<number>(50).fill(1.5) });
    const { src } = source([]);
    await tick(src, [a.ref], 0);
    a.state.generations = after;
    const s = await tick(src, [a.ref], 1000);
    if (typeof want === 'number') expect(value(s.latencyP95Seconds)).toBeCloseTo(want, 9);
    else expect(s.latencyP95Seconds).toMatchObject({ ok: false, reason: want });
  });

  it.each([
    { mode: 'http500' as const, reason: 'HttpStatus' },
    { mode: 'hang' as const, reason: 'Timeout' },
    { mode: 'garbage' as const, reason: 'BadBody' },
  ])(
    'a pod answering $mode is stale: the others report, with a note ($reason)',
    async ({ mode, reason }) => {
      const a = await runtimePod('turbo-a', { queueDepth: 3 });
      const b = await runtimePod('turbo-b', { queueDepth: 4 });
      const { src, failures } = source([], { timeoutMs: 300 });
      a.mode = mode;
      const s = await tick(src, [a.ref, b.ref], 0);
      expect(value(s.queueDepth)).toBe(4);
      expect((s.queueDepth as { note?: string }).note).toMatch(
        new RegExp(`1 of 2 pods stale \\(ml/turbo-a: ${reason}\\): value from the other 1`),
      );
      expect(failures).toEqual([{ endpoint: 'runtime', reason }]);
    },
  );

  it('a refused pod is stale too; all pods stale: the runtime signals are missing (Stale)', async () => {
    const gone: PodRef = {
      namespace: 'ml',
      name: 'turbo-a',
      ip: '127.0.0.1',
      port: await closedPort(),
    };
    const { src, failures } = source([]);
    const s = await tick(src, [gone], 0);
    for (const signal of ['queueDepth', 'inflight', 'latencyP95Seconds'] as const) {
      expect(s[signal]).toMatchObject({ ok: false, reason: 'Stale' });
    }
    expect((s.queueDepth as { message: string }).message).toMatch(/connection refused/);
    expect(failures).toEqual([{ endpoint: 'runtime', reason: 'Refused' }]);
  });

  it('hung pods do not hold the tick: the others are read within one deadline', async () => {
    const hung = await Promise.all(
      [0, 1, 2].map((i) => runtimePod(`turbo-h${i}`, { queueDepth: 100 })),
    );
    for (const h of hung) h.mode = 'hang';
    const others = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => runtimePod(`turbo-${i}`, { queueDepth: 1 })),
    );
    const { src } = source([], { timeoutMs: 400, concurrency: 4 });
    const started = performance.now();
    const s = await tick(src, [...hung.map((h) => h.ref), ...others.map((o) => o.ref)], 0);
    // In parallel: one 400 ms deadline; one after another the three would take 1200 ms.
    expect(performance.now() - started).toBeLessThan(1000);
    expect(value(s.queueDepth)).toBe(5);
    expect((s.queueDepth as { note?: string }).note).toMatch(/3 of 8 pods stale/);
  });

  it('no pod with an IP: NoPods for every signal', async () => {
    const { src } = source([]);
    const s = await tick(src, [{ namespace: 'ml', name: 'turbo-a' }], 0);
    for (const reading of Object.values(s))
      expect(reading).toMatchObject({ ok: false, reason: 'NoPods' });
  });

  it('a pod that left and came back starts a new window', async () => {
    const a = await runtimePod('turbo-a', { generations: [1] });
    const { src } = source([]);
    await tick(src, [a.ref], 0);
    await tick(src, [], 1000);
    const s = await tick(src, [a.ref], 2000);
    expect(s.latencyP95Seconds).toMatchObject({ ok: false, reason: 'WindowNotFilled' });
  });
});

const gpuCases: {
  name: string;
  gpus: DcgmGpu[];
  node?: string;
  down?: boolean;
  signal: SignalName;
  want: number | string;
  note?: RegExp;
}[] = [
  {
    name: 'exported_pod/exported_namespace (honorLabels off upstream) map to the holder',
    gpus: [{ gpu: 0, holder: 'ml/turbo-a', renamed: true, util: 70, usedMiB: 1, freeMiB: 1 }],
    signal: 'gpuUtilization',
    want: 70,
  },
  {
    name: 'no GPU_UTIL (MIG, some consumer cards): PROF_GR_ENGINE_ACTIVE x 100',
    gpus: [{ gpu: 0, holder: 'ml/turbo-a', engineActive: 0.85 }],
    signal: 'gpuUtilization',
    want: 85,
    note: /PROF_GR_ENGINE_ACTIVE/,
  },
  {
    name: 'GPU_UTIL wins where a GPU has both',
    gpus: [{ gpu: 0, holder: 'ml/turbo-a', util: 30, engineActive: 0.85 }],
    signal: 'gpuUtilization',
    want: 30,
  },
  {
    name: 'series without pod labels (DCGM_EXPORTER_KUBERNETES off): MissingPodLabel',
    gpus: [{ gpu: 0, util: 99, usedMiB: 1, freeMiB: 1 }],
    signal: 'gpuUtilization',
    want: 'MissingPodLabel',
  },
  {
    name: 'no exporter on the pod’s node: ExporterNotFound',
    gpus: [{ gpu: 0, holder: 'ml/trainer-0', util: 99 }],
    node: 'gpu-node-2',
    signal: 'gpuUtilization',
    want: 'ExporterNotFound',
  },
  {
    name: 'the exporter fails: Stale',
    gpus: [{ gpu: 0, holder: 'ml/turbo-a', util: 99 }],
    down: true,
    signal: 'gpuUtilization',
    want: 'Stale',
  },
  {
    name: 'the exporter names other pods only: NoData, never 0',
    gpus: [{ gpu: 0, holder: 'ml/trainer-0', util: 99 }],
    signal: 'gpuUtilization',
    want: 'NoData',
  },
  {
    name: 'a free GPU (no holder) beside another pod’s: NoData, the mapping is on',
    gpus: [
      { gpu: 0, holder: 'ml/trainer-0', util: 99 },
      { gpu: 1, util: 0 },
    ],
    signal: 'gpuUtilization',
    want: 'NoData',
  },
  {
    name: 'no framebuffer fields: VRAM NoData while utilization reads',
    gpus: [{ gpu: 0, holder: 'ml/turbo-a', util: 99 }],
    signal: 'vramUsedBytes',
    want: 'NoData',
  },
];

describe('direct source: dcgm-exporter', () => {
  it.each(gpuCases)('$name', async ({ gpus, node, down, signal, want, note }) => {
    const a = await runtimePod('turbo-a', {}, node);
    const dcgm = await exporter(gpus);
    dcgm.down = down ?? false;
    const { src } = source([dcgm.ref]);
    const s = await tick(src, [a.ref], 0);
    if (typeof want === 'number') expect(value(s[signal])).toBe(want);
    else expect(s[signal]).toMatchObject({ ok: false, reason: want });
    if (note) expect((s[signal] as { note?: string }).note).toMatch(note);
  });

  it('one pod without a GPU reading: the value from the others, with a note', async () => {
    const a = await runtimePod('turbo-a', {});
    const b = await runtimePod('turbo-b', {}, 'gpu-node-2');
    const dcgm = await exporter([{ gpu: 0, holder: 'ml/turbo-a', util: 80 }]);
    const { src } = source([dcgm.ref]);
    const s = await tick(src, [a.ref, b.ref], 0);
    expect(value(s.gpuUtilization)).toBe(80);
    expect((s.gpuUtilization as { note?: string }).note).toMatch(
      /1 of 2 pods without GPU reading .*gpu-node-2/,
    );
  });

  it('the interval is the exporter’s collection interval when longer than the tick', async () => {
    const a = await runtimePod('turbo-a', {});
    const dcgm = await exporter([{ gpu: 0, holder: 'ml/turbo-a', util: 80 }], 'gpu-node-1', 30_000);
    const { src } = source([dcgm.ref]);
    await tick(src, [a.ref], 0);
    const s = await tick(src, [a.ref], 2000);
    expect(s.gpuUtilization).toMatchObject({ ok: true, intervalSeconds: 30 });
    expect(s.queueDepth).toMatchObject({ intervalSeconds: 2 });
  });

  it('listing the exporters fails: GPU signals SourceDown, runtime signals still read', async () => {
    const a = await runtimePod('turbo-a', { queueDepth: 2 });
    const src = new DirectSource({
      exporters: () =>
        Promise.reject(new Error('pods is forbidden: cannot list pods at the cluster scope')),
    });
    const s = await tick(src, [a.ref], 0);
    expect(value(s.queueDepth)).toBe(2);
    expect(s.gpuUtilization).toMatchObject({ ok: false, reason: 'SourceDown' });
    expect((s.gpuUtilization as { message: string }).message).toMatch(/forbidden/);
  });
});

/** A router pod: its /metrics as the router's own Registry renders it. */
async function routerPod(name: string, state: RouterState) {
  const pod = { state, mode: 'ok' as Mode };
  const server = await localServer((_req, _body, res) => {
    if (pod.mode === 'http500') return void res.writeHead(500).end('internal');
    void routerBody(pod.state).then((body) => res.writeHead(200).end(body));
  });
  servers.push(server);
  const ref: PodRef = { namespace: 'ml', name, ip: '127.0.0.1', port: server.port };
  return Object.assign(pod, { ref });
}

async function routedTick(src: DirectSource, pods: PodRef[], routers: PodRef[], now: number) {
  const sample = await src.sample([{ ...turbo(pods), routers }], now);
  return sample.byKey.get('ml/turbo')!;
}

describe("direct source: the client's wait and the routers", () => {
  it('without a router: the wait is the pods’ request duration; router signals NotConfigured', async () => {
    const a = await runtimePod('turbo-a', { generations: [1.2], requests: [] });
    const { src } = source([]);
    const first = await tick(src, [a.ref], 0);
    expect(first.waitP95Seconds).toMatchObject({ ok: false, reason: 'WindowNotFilled' });
    // 20 requests that queued: engine 1.2 s each, the client waited 15-20 s.
    a.state.requests = Array<number>(20).fill(18);
    a.state.generations = Array<number>(21).fill(1.2);
    const s = await tick(src, [a.ref], 1000);
    expect(value(s.waitP95Seconds)).toBeCloseTo(15 + 5 * (19 / 20), 9);
    expect(value(s.latencyP95Seconds)).toBeLessThan(2);
    for (const signal of [
      'routerQueuedImages',
      'routerQueuedWorkSeconds',
      'arrivedImagesPerSecond',
    ] as const) {
      expect(s[signal]).toMatchObject({ ok: false, reason: 'NotConfigured' });
      expect(value(s[signal])).toContain('spec.router.enabled');
    }
  });

  it('with routers: their wait histogram, queued images and work summed, arrivals per second', async () => {
    const pod = await runtimePod('turbo-a', { requests: Array<number>(50).fill(1) });
    const r1 = await routerPod('turbo-router-1', { arrivedImages: 100, queuedImages: 3 });
    const r2 = await routerPod('turbo-router-2', { arrivedImages: 40, queuedImages: 1 });
    r1.state.queuedWork = 3.6;
    r2.state.queuedWork = 1.2;
    const { src } = source([]);
    await routedTick(src, [pod.ref], [r1.ref, r2.ref], 0);
    // Over 2 s: 20 images waited 19 s at router 1, 20 at 1.5 s at router 2; 30 + 10 arrived.
    r1.state.waits = Array<number>(20).fill(19);
    r2.state.waits = Array<number>(20).fill(1.5);
    r1.state.arrivedImages = 130;
    r2.state.arrivedImages = 50;
    const s = await routedTick(src, [pod.ref], [r1.ref, r2.ref], 2000);
    // 40 waits: rank 38 falls in (15, 20] holding 20 of them from 20: 15 + 5 x 18/20.
    expect(value(s.waitP95Seconds)).toBeCloseTo(15 + 5 * (18 / 20), 9);
    expect(s.waitP95Seconds).toMatchObject({ ok: true, windowSeconds: 2 });
    expect(value(s.routerQueuedImages)).toBe(4);
    expect(value(s.routerQueuedWorkSeconds)).toBeCloseTo(4.8, 9);
    expect(value(s.arrivedImagesPerSecond)).toBe(20);
  });

  it('a restarted router: its counter starting again counts as the increase, as rate() does', async () => {
    const pod = await runtimePod('turbo-a', {});
    const r1 = await routerPod('turbo-router-1', { arrivedImages: 500 });
    const { src } = source([]);
    await routedTick(src, [pod.ref], [r1.ref], 0);
    r1.state.arrivedImages = 8;
    const s = await routedTick(src, [pod.ref], [r1.ref], 1000);
    expect(value(s.arrivedImagesPerSecond)).toBe(8);
  });

  it('router on but none running yet: NoPods, never a zero', async () => {
    const pod = await runtimePod('turbo-a', { requests: [1] });
    const { src } = source([]);
    const s = await routedTick(src, [pod.ref], [], 0);
    for (const signal of [
      'waitP95Seconds',
      'routerQueuedImages',
      'arrivedImagesPerSecond',
    ] as const)
      expect(s[signal]).toMatchObject({ ok: false, reason: 'NoPods' });
    expect(value(s.queueDepth)).toBe(0);
  });

  it('one router stale: the value rests on the other, with a note; both stale: Stale', async () => {
    const pod = await runtimePod('turbo-a', {});
    const r1 = await routerPod('turbo-router-1', { queuedImages: 2 });
    const r2 = await routerPod('turbo-router-2', { queuedImages: 5 });
    const { src, failures } = source([]);
    r2.mode = 'http500';
    const s = await routedTick(src, [pod.ref], [r1.ref, r2.ref], 0);
    expect(s.routerQueuedImages).toMatchObject({ ok: true, value: 2, note: /1 of 2 pods stale/ });
    expect(failures).toContainEqual({ endpoint: 'runtime', reason: 'HttpStatus' });
    r1.mode = 'http500';
    const t = await routedTick(src, [pod.ref], [r1.ref, r2.ref], 1000);
    expect(t.routerQueuedImages).toMatchObject({ ok: false, reason: 'Stale' });
    expect(t.waitP95Seconds).toMatchObject({ ok: false, reason: 'Stale' });
    // The runtime's own signals do not depend on the routers.
    expect(t.queueDepth).toMatchObject({ ok: true });
  });
});
