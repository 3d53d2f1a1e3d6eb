/**
 * The batched Prometheus source against the real Prometheus (Debian's 2.42), scraping a fake
 * fleet on 127.0.0.1 every second: 100 ZImageDeployments whose runtime pods serve the
 * runtime's own Registry (images observed as they happen), and a dcgm-exporter body naming
 * their GPUs. Target labels are what the operator's ServiceMonitor writes (namespace, pod,
 * zimage_deployment). Proves: per-object values from real series, 9 queries per tick for 1
 * object and for 100, a real NaN (no image) read as NoObservations, a failing pod read as
 * Stale from real `up`, a real honorLabels rename (exported_pod) read as MissingPodLabel, and
 * Prometheus gone read as SourceDown.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, type PrometheusInstance } from '../../dev/prometheus.ts';
import type { FetchLike } from '../../src/operator/signals/http.ts';
import { PrometheusSource, queriesPerTick } from '../../src/operator/signals/prometheus/source.ts';
import type { SignalSample, SignalTarget } from '../../src/operator/signals/sample.ts';
import { createRuntimeMetrics, type RuntimeMetrics } from '../../src/runtime/metrics.ts';
import { eventually } from '../support/k8s.ts';
import { dcgmBody, localServer, type DcgmGpu, type LocalServer } from '../support/signal-bodies.ts';

interface FakePod {
  namespace: string;
  name: string;
  owner: string;
  metrics: RuntimeMetrics;
  /** Seconds of each image; undefined: idle, no image ever. */
  seconds?: number;
  failing: boolean;
}

const gib = 1024;
const n = 100;
const pods: FakePod[] = [];
const gpus: DcgmGpu[] = [];
const renamedGpus: DcgmGpu[] = [];

function addPod(
  owner: string,
  index: number,
  seconds: number | undefined,
  gpu: Omit<DcgmGpu, 'gpu' | 'holder'>,
  exporter = gpus,
) {
  const pod: FakePod = {
    namespace: 'ml',
    name: `${owner}-7d9f8c6b5-${index}`,
    owner,
    metrics: createRuntimeMetrics(),
    ...(seconds === undefined ? {} : { seconds }),
    failing: false,
  };
  pods.push(pod);
  exporter.push({ gpu: exporter.length, holder: `ml/${pod.name}`, ...gpu });
  return pod;
}

// z<i>: utilization i%100, queue i%7, in-flight i%2, VRAM (4 + i%12) of 16 GiB, images of
// 1.5 s (p95 1.95) on even i, 19 s (p95 19.75) on odd i.
for (let i = 0; i < n; i++) {
  const pod = addPod(`z${i}`, 0, i % 2 === 0 ? 1.5 : 19, {
    util: i % 100,
    usedMiB: (4 + (i % 12)) * gib,
    freeMiB: (12 - (i % 12)) * gib,
  });
  pod.metrics.queueDepth.set(i % 7);
  pod.metrics.inflight.set(i % 2);
}
addPod('idle', 0, undefined, { util: 0, usedMiB: gib, freeMiB: 15 * gib });
const pair = [0, 1].map((i) =>
  addPod('pair', i, 1.5, { util: 50, usedMiB: 2 * gib, freeMiB: 14 * gib }),
);
// This object's GPU is served only through an exporter target that carries pod and namespace
// target labels of its own: Prometheus (honor_labels false) renames the series' to exported_*.
addPod('renamed', 0, 1.5, { util: 80, usedMiB: gib, freeMiB: gib }, renamedGpus);

let fleet: LocalServer;
let prom: PrometheusInstance;
let observing: NodeJS.Timeout;

beforeAll(async () => {
  fleet = await localServer((req, _body, res) => {
    if (req.url === '/dcgm/metrics') return void res.writeHead(200).end(dcgmBody(gpus));
    if (req.url === '/dcgm-renamed/metrics')
      return void res.writeHead(200).end(dcgmBody(renamedGpus));
    const pod = pods.find((p) => req.url === `/pods/${p.namespace}/${p.name}/metrics`);
    if (!pod) return void res.writeHead(404).end();
    if (pod.failing) return void res.writeHead(500).end('engine crashed');
    void pod.metrics.registry.metrics().then((text) => res.writeHead(200).end(text));
  });
  // Four images a second per pod: the 1m rate window holds real increases after 2 scrapes.
  observing = setInterval(() => {
    for (const p of pods)
      if (p.seconds !== undefined) p.metrics.generationDuration.observe(p.seconds);
  }, 250);
  const address = `127.0.0.1:${fleet.port}`;
  // 2 s, not 1 s: 100 registries rendered per interval in this one test process, on 2 busy
  // cores, sometimes overran a 1 s scrape timeout, and a failed scrape marks its series stale
  // (NoData), which is a different test (the failing pod below).
  prom = await startPrometheus({
    interval: '2s',
    targets: {
      runtime: pods.map((p) => ({
        targets: [address],
        labels: {
          __metrics_path__: `/pods/${p.namespace}/${p.name}/metrics`,
          namespace: p.namespace,
          pod: p.name,
          zimage_deployment: p.owner,
        },
      })),
      'nvidia-dcgm-exporter': [
        { targets: [address], labels: { __metrics_path__: '/dcgm/metrics' } },
        {
          targets: [address],
          labels: {
            __metrics_path__: '/dcgm-renamed/metrics',
            namespace: 'gpu-operator',
            pod: 'nvidia-dcgm-exporter-7xk2p',
          },
        },
      ],
    },
  });
  // Two successful scrapes of every target, so rate() has an increase for each.
  await eventually(
    'two successful scrapes of every runtime target',
    async () => {
      const r = await prom.query('count(sum_over_time(up{job="runtime"}[1m]) >= 2)');
      return Number(r[0]?.value[1]) === pods.length ? true : undefined;
    },
    60_000,
  );
}, 120_000);

afterAll(async () => {
  clearInterval(observing);
  await prom?.stop();
  await fleet?.close();
});

const target = (owner: string, count = 1): SignalTarget => ({
  namespace: 'ml',
  name: owner,
  prometheusUrl: prom.url,
  pods: Array.from({ length: count }, (_, i) => ({
    namespace: 'ml',
    name: `${owner}-7d9f8c6b5-${i}`,
  })),
});
const all = () => Array.from({ length: n }, (_, i) => target(`z${i}`));

function counting(): { fetch: FetchLike; calls: () => number } {
  let calls = 0;
  return {
    fetch: (input, init) => {
      calls++;
      return fetch(input, init);
    },
    calls: () => calls,
  };
}

const read = (sample: SignalSample, key: string) => sample.byKey.get(key)!;

describe('Prometheus source on the real Prometheus', () => {
  it('100 objects in one tick: each object’s own values from real series', async () => {
    const sample = await new PrometheusSource().sample(all(), Date.now());
    for (let i = 0; i < n; i++) {
      const s = read(sample, `ml/z${i}`);
      expect(s.gpuUtilization, `z${i}`).toMatchObject({ ok: true, value: i % 100 });
      expect(s.queueDepth, `z${i}`).toMatchObject({ ok: true, value: i % 7 });
      expect(s.inflight, `z${i}`).toMatchObject({ ok: true, value: i % 2 });
      expect(s.vramUsedRatio, `z${i}`).toMatchObject({ ok: true, value: (4 + (i % 12)) / 16 });
      expect(s.vramUsedBytes, `z${i}`).toMatchObject({ ok: true, value: (4 + (i % 12)) * 2 ** 30 });
      expect(s.vramTotalBytes, `z${i}`).toMatchObject({ ok: true, value: 16 * 2 ** 30 });
      const p95 = s.latencyP95Seconds;
      expect(p95.ok ? p95.value : p95.reason, `z${i}`).toBeCloseTo(i % 2 === 0 ? 1.95 : 19.75, 9);
    }
  });

  it.each([1, n])('%i object(s): the same number of queries per tick', async (count) => {
    const { fetch, calls } = counting();
    const sample = await new PrometheusSource({ fetch }).sample(all().slice(0, count), Date.now());
    expect(calls()).toBe(queriesPerTick);
    expect(sample.requests).toBe(queriesPerTick);
    expect(sample.byKey.size).toBe(count);
  });

  it('no image in the window: the real NaN is NoObservations; two pods are summed', async () => {
    const sample = await new PrometheusSource().sample(
      [target('idle'), target('pair', 2)],
      Date.now(),
    );
    expect(read(sample, 'ml/idle').latencyP95Seconds).toMatchObject({
      ok: false,
      reason: 'NoObservations',
    });
    expect(read(sample, 'ml/idle').gpuUtilization).toMatchObject({ ok: true, value: 0 });
    expect(read(sample, 'ml/pair').gpuUtilization).toMatchObject({ ok: true, value: 50 });
    const pairP95 = read(sample, 'ml/pair').latencyP95Seconds;
    expect(pairP95).toMatchObject({ ok: true });
    expect(pairP95.ok && pairP95.value).toBeCloseTo(1.95, 9);
  });

  it('dcgm series renamed by a scrape without honorLabels: MissingPodLabel, not NoData', async () => {
    const sample = await new PrometheusSource().sample([target('renamed')], Date.now());
    const s = read(sample, 'ml/renamed');
    expect(s.gpuUtilization).toMatchObject({ ok: false, reason: 'MissingPodLabel' });
    expect(s.queueDepth).toMatchObject({ ok: true });
  });

  it('a pod whose scrape fails: its target goes down, the value rests on the other pod', async () => {
    pair[1]!.failing = true;
    const source = new PrometheusSource();
    const s = await eventually('the failing pod seen down', async () => {
      const got = read(await source.sample([target('pair', 2)], Date.now()), 'ml/pair');
      return got.latencyP95Seconds.ok && got.latencyP95Seconds.note ? got : undefined;
    });
    expect(s.latencyP95Seconds).toMatchObject({
      note: expect.stringMatching(/1 of 2 targets down/) as string,
    });
    pair[0]!.failing = true;
    const all = await eventually('both pods seen down', async () => {
      const got = read(await source.sample([target('pair', 2)], Date.now()), 'ml/pair');
      return got.queueDepth.ok ? undefined : got;
    });
    expect(all.queueDepth).toMatchObject({ ok: false, reason: 'Stale' });
  });

  it('Prometheus gone: every signal of every object SourceDown, within the deadline', async () => {
    await prom.stop();
    const sample = await new PrometheusSource({ timeoutMs: 500 }).sample(
      all().slice(0, 3),
      Date.now(),
    );
    for (const signals of sample.byKey.values()) {
      for (const reading of Object.values(signals)) {
        expect(reading).toMatchObject({ ok: false, reason: 'SourceDown' });
      }
    }
  });
});
