/**
 * The local fleet's monitoring against real processes: the dcgm-exporter stand-in on each GPU
 * node, real Prometheus discovering runtime and exporter pods through the Kubernetes API, and
 * GPU utilization and VRAM that follow what the runtime really does, queried by labels.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cards, memoryInUse } from '../../src/contract/card.ts';
import { dcgmLabels, dcgmNamespace, dcgmPort } from '../../dev/fleet/daemonset.ts';
import { parseTextFormat } from '../../src/formats/prometheus-text.ts';
import {
  dcgmJob,
  fleetQueries,
  instanceLabel,
  runtimeJob,
  startFleetPrometheus,
} from '../../dev/fleet/prometheus-sd.ts';
import type { PrometheusInstance } from '../../dev/prometheus.ts';
import { eventually } from '../support/k8s.ts';
import { fleetSpec, readyPods, startTestFleet, type TestFleet } from '../support/fleet.ts';

let fleet: TestFleet;
let prom: PrometheusInstance;
const name = 'turbo';
const MiB = 2 ** 20;

beforeAll(async () => {
  fleet = await startTestFleet(`fleet-mon-${process.pid}`);
  await fleet.zid.create(fleet.namespace, name, fleetSpec(1));
  prom = await startFleetPrometheus(fleet.cluster);
});
afterAll(async () => {
  await prom?.stop();
  await fleet?.stop();
});

async function exporters() {
  const pods = await fleet.core.listNamespacedPod({
    namespace: dcgmNamespace,
    labelSelector: `app=${dcgmLabels.app}`,
  });
  return pods.items;
}

/** One instant value, once the query returns exactly one series that satisfies `ok`. */
async function valueOf(
  query: string,
  ok: (v: number) => boolean,
  what: string,
  timeoutMs = 30_000,
) {
  return eventually(
    what,
    async () => {
      const r = await prom.query(query);
      const v = r.length === 1 ? Number(r[0]!.value[1]) : NaN;
      return ok(v) ? { value: v, metric: r[0]!.metric } : undefined;
    },
    timeoutMs,
  );
}

describe('dcgm-exporter on every GPU node', () => {
  it('serves one series set per GPU, the runtime pod’s GPU under its pod labels', async () => {
    const [runtime] = await readyPods(fleet, name, 1);
    const pods = await exporters();
    expect(pods.map((p) => p.spec!.nodeName).sort()).toEqual(['gpu-h100-0', 'gpu-rtx4090-0']);
    const h100 = pods.find((p) => p.spec!.nodeName === 'gpu-h100-0')!;
    // Every GPU shows up; the runtime's (index 0, the first free) is mapped to its pod.
    const metrics = await eventually('the runtime pod mapped to its GPU', async () => {
      const text = await (await fetch(`http://${h100.status!.podIP}:${dcgmPort}/metrics`)).text();
      const m = parseTextFormat(text);
      const mapped = [...m.values()]
        .flat()
        .some((x) => x.labels['pod'] === runtime!.metadata!.name);
      return mapped ? m : undefined;
    });
    const used = metrics.get('DCGM_FI_DEV_FB_USED') ?? [];
    expect(used.map((s) => s.labels['gpu'])).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    const mine = used.filter((s) => s.labels['pod'] === runtime!.metadata!.name);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.labels).toMatchObject({
      gpu: '0',
      namespace: fleet.namespace,
      container: 'runtime',
      modelName: 'NVIDIA H100 80GB HBM3',
      Hostname: 'gpu-h100-0',
    });
    // Idle, no offload: every session resident, as the card model weighs them.
    const all = ['text_encoder', 'transformer', 'vae_decoder'] as const;
    const expected = memoryInUse({ precision: 'bf16', offload: 'none', attention: 'flash' }, all);
    expect(mine[0]!.value).toBe(Math.round(expected / MiB));
    expect(used.filter((s) => s !== mine[0]).every((s) => s.value === 0)).toBe(true);
    const free = metrics.get('DCGM_FI_DEV_FB_FREE')?.find((s) => s.labels['gpu'] === '0');
    expect(free!.value + mine[0]!.value).toBe(cards['h100-80gb'].memoryBytes / MiB);

    const rtx = pods.find((p) => p.spec!.nodeName === 'gpu-rtx4090-0')!;
    const consumer = parseTextFormat(
      await (await fetch(`http://${rtx.status!.podIP}:${dcgmPort}/metrics`)).text(),
    );
    expect(consumer.get('DCGM_FI_DEV_GPU_UTIL')).toHaveLength(1);
    expect([...consumer.keys()].some((name) => name.startsWith('DCGM_FI_PROF_'))).toBe(false);
  });
});

describe('Prometheus finds targets through the Kubernetes API', () => {
  it('discovers the runtime and exporter pods by kubernetes_sd_configs, all up, no target files', async () => {
    const [runtime] = await readyPods(fleet, name, 1);
    const up = await eventually('1 runtime and 2 exporter targets up', async () => {
      const r = await prom.query('up');
      const ok = r.filter((s) => s.value[1] === '1');
      return r.length === 3 && ok.length === 3 ? r : undefined;
    });
    const runtimeTarget = up.find((s) => s.metric['job'] === runtimeJob)!;
    expect(runtimeTarget.metric).toMatchObject({
      namespace: fleet.namespace,
      pod: runtime!.metadata!.name,
      container: 'runtime',
      endpoint: 'http',
      [instanceLabel]: name,
      instance: `${runtime!.status!.podIP}:8080`,
    });
    expect(
      up
        .filter((s) => s.metric['job'] === dcgmJob)
        .map((s) => s.metric['node'])
        .sort(),
    ).toEqual(['gpu-h100-0', 'gpu-rtx4090-0']);
    const config = fs.readFileSync(path.join(prom.dir, 'prometheus.yml'), 'utf8');
    expect(config).toContain('kubernetes_sd_configs');
    expect(config).not.toContain('file_sd_configs');
  });
});

describe('GPU signals follow the runtime, by labels', () => {
  it('utilization is high under back-to-back generations and falls to near 0 without them', async () => {
    const [runtime] = await readyPods(fleet, name, 1);
    const url = `http://${runtime!.status!.podIP}:8080/v1/images/generations`;
    let loading = true;
    const load = (async () => {
      while (loading) {
        await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ prompt: 'a lighthouse', size: '256x256', steps: 9 }),
        });
      }
    })();
    try {
      const busy = await valueOf(
        fleetQueries.gpuUtilization(fleet.namespace, name),
        (v) => v > 60,
        'utilization above 60% under load',
        60_000,
      );
      expect(busy.metric[instanceLabel]).toBe(name);
    } finally {
      loading = false;
      await load;
    }
    await valueOf(
      fleetQueries.gpuUtilization(fleet.namespace, name),
      (v) => v < 5,
      'utilization below 5% when idle',
    );
  });

  it('a live offload change moves FB_USED of that pod’s GPU, with no restart', async () => {
    const [before] = await readyPods(fleet, name, 1);
    const none = await valueOf(
      fleetQueries.vramUsedMiB(fleet.namespace, name),
      (v) => v > 15_000,
      'VRAM with every session on the GPU',
    );
    await fleet.zid.patchSpec(fleet.namespace, name, { runtime: { offload: 'cpu' } });
    // cpu offload keeps only the transformer on the GPU: 12.3 GB + context = ~12,200 MiB.
    const cpu = await valueOf(
      fleetQueries.vramUsedMiB(fleet.namespace, name),
      (v) => v < 13_000,
      'VRAM with the text encoder and VAE on the CPU',
      60_000,
    );
    expect(none.value - cpu.value).toBeGreaterThan(7_000);
    const [after] = await readyPods(fleet, name, 1);
    expect(after!.metadata!.uid).toBe(before!.metadata!.uid);
    expect(after!.status!.containerStatuses![0]!.restartCount).toBe(0);
  });
});
