import { spawnSync } from 'node:child_process';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { exporterOptions } from '../../dev/fleet/dcgm-exporter.ts';
import { hasProfiling, renderDcgm, type GpuReading } from '../../dev/fleet/dcgm-metrics.ts';
import { GpuModel, snapshotOf } from '../../dev/fleet/gpu-model.ts';
import { GpuAllocator, nodeDevices } from '../../dev/fleet/gpus.ts';
import { parseTextFormat } from '../../src/formats/prometheus-text.ts';
import { buildNodes, defaultNodePools } from '../../dev/nodes.ts';

const [h100Node] = buildNodes([defaultNodePools[0]!]) as [V1Node];
const [rtxNode] = buildNodes([defaultNodePools[1]!]) as [V1Node];

const gpuPod = (name: string, gpus: number): V1Pod => ({
  metadata: { name, namespace: 'ml', uid: `uid-${name}` },
  spec: {
    nodeName: h100Node.metadata!.name!,
    containers: [{ name: 'runtime', resources: { limits: { 'nvidia.com/gpu': String(gpus) } } }],
  },
});

describe('GPUs per node, as the device plugin assigns them', () => {
  it('lists one device per allocatable GPU with stable ids and the card model name', () => {
    const devices = nodeDevices(h100Node);
    expect(devices).toHaveLength(8);
    expect(devices[0]).toMatchObject({
      index: 0,
      device: 'nvidia0',
      modelName: 'NVIDIA H100 80GB HBM3',
      memoryMiB: 81_559,
      pciBusId: '00000000:18:00.0',
    });
    expect(devices[0]!.uuid).toMatch(
      /^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    expect(nodeDevices(h100Node)[3]!.uuid).toBe(devices[3]!.uuid);
    expect(new Set(devices.map((d) => d.uuid)).size).toBe(8);
  });

  it('gives the lowest free indices in arrival order and reuses freed ones', () => {
    const gpus = new GpuAllocator();
    expect(gpus.assign(gpuPod('a', 1), 8)).toEqual([{ index: 0, container: 'runtime' }]);
    expect(gpus.assign(gpuPod('b', 2), 8)?.map((g) => g.index)).toEqual([1, 2]);
    // Seen again: the same GPUs, and the address it got meanwhile is recorded.
    gpus.assign(gpuPod('a', 1), 8, () => 'http://127.1.128.1:8080/metrics');
    expect(gpus.assignments('gpu-h100-0')[0]).toMatchObject({
      pod: 'a',
      metricsUrl: 'http://127.1.128.1:8080/metrics',
    });
    expect(gpus.release('gpu-h100-0', 'uid-a')).toBe(true);
    expect(gpus.assign(gpuPod('c', 1), 8)).toEqual([{ index: 0, container: 'runtime' }]);
    expect(gpus.assign(gpuPod('d', 6), 8)).toBeUndefined();
  });
});

const runtimeMetrics = (busy: number, extra = '') => `# HELP zimage_generation_busy_seconds_total x
# TYPE zimage_generation_busy_seconds_total counter
zimage_generation_busy_seconds_total ${busy}
zimage_config_info{steps="9",offload="none",attention="flash",ep="cpu",transformer="fused"} 1
zimage_resident_sessions{component="text_encoder"} 1
zimage_resident_sessions{component="transformer"} 1
zimage_resident_sessions{component="vae_decoder"} 1
${extra}`;

describe('the GPU as the stand-in reads it from its holder', () => {
  const device = nodeDevices(h100Node)[0]!;
  const assignment = { index: 0, namespace: 'ml', pod: 'a', container: 'runtime', uid: 'u' };

  it.each([
    ['idle: busy time unchanged', 10, 10, 0],
    ['half the interval generating', 10, 10.5, 50],
    ['all of it', 10, 11, 100],
    ['a counter reset (restarted runtime) reads as 0, not negative', 10, 0.2, 0],
  ])('utilization %s', (_n, before, after, percent) => {
    const gpu = new GpuModel(device, 'gpu-h100-0');
    gpu.read(0, assignment, snapshotOf(parseTextFormat(runtimeMetrics(before)), 0));
    const r = gpu.read(
      1_000,
      assignment,
      snapshotOf(parseTextFormat(runtimeMetrics(after)), 1_000),
    );
    expect(r.utilPercent).toBeCloseTo(percent, 6);
  });

  it('memory follows the card model: weights resident, plus activations while generating', () => {
    const gpu = new GpuModel(device, 'gpu-h100-0');
    const idle = gpu.read(0, assignment, snapshotOf(parseTextFormat(runtimeMetrics(1)), 0));
    const busy = gpu.read(
      1_000,
      assignment,
      snapshotOf(
        parseTextFormat(runtimeMetrics(1, 'zimage_generation_inflight_pixels 1048576')),
        1_000,
      ),
    );
    // 0.5 GB context + 20.44 GB of weights = 19,970 MiB; +5.5 GB of VAE activations at 1024^2.
    expect(idle.fbUsedMiB).toBeCloseTo(19_970, -1);
    expect(busy.fbUsedMiB - idle.fbUsedMiB).toBeCloseTo(5_245, -1);
    const cpu = snapshotOf(
      parseTextFormat(runtimeMetrics(1).replace('offload="none"', 'offload="cpu"')),
      2_000,
    );
    expect(gpu.read(2_000, assignment, cpu).fbUsedMiB).toBeCloseTo(12_207, -1);
    expect(gpu.read(3_000, undefined, undefined).fbUsedMiB).toBe(0);
  });
});

describe('dcgm-exporter exposition', () => {
  const reading = (node: V1Node, withPod: boolean): GpuReading => ({
    device: nodeDevices(node)[0]!,
    hostname: node.metadata!.name!,
    utilPercent: 37.4,
    fbUsedMiB: 13_000.4,
    powerWatts: 250.25,
    energyMillijoules: 12_345.6,
    temperatureC: 47.1,
    ...(withPod ? { assignment: { namespace: 'ml', pod: 'turbo-abc', container: 'runtime' } } : {}),
  });
  const text = renderDcgm([reading(h100Node, true), reading(rtxNode, false)]);

  /** promtool check metrics: exit 1 for a format error, 3 for lint findings only. */
  const promtool = (input: string) => {
    const r = spawnSync('promtool', ['check', 'metrics'], { input });
    return {
      status: r.status,
      lines: `${r.stdout.toString()}${r.stderr.toString()}`.trim().split('\n').filter(Boolean),
    };
  };

  it('parses under promtool check metrics, whose only lint is dcgm-exporter’s own naming', () => {
    const { status, lines } = promtool(text);
    expect([0, 3]).toContain(status);
    // dcgm-exporter's real labels (modelName, Hostname, UUID) are camelCase and its energy
    // counter has no _total suffix: kept, since dashboards and alerts use these names.
    const known = [
      /^DCGM_FI_\w+ label names should be written in 'snake_case' not 'camelCase'$/,
      /^DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter metrics should have "_total" suffix$/,
    ];
    expect(lines.filter((l) => !known.some((k) => k.test(l)))).toEqual([]);
  });

  it('promtool does fail a malformed exposition (the check above can fail)', () => {
    expect(promtool(text.replace(/} 37\n/, '} thirty-seven\n')).status).toBe(1);
  });

  it('uses dcgm names, integer units and the pod labels of a mapped GPU only', () => {
    const metrics = parseTextFormat(text);
    const util = metrics.get('DCGM_FI_DEV_GPU_UTIL') ?? [];
    expect(util.map((s) => s.value)).toEqual([37, 37]);
    expect(util[0]!.labels).toMatchObject({
      gpu: '0',
      device: 'nvidia0',
      modelName: 'NVIDIA H100 80GB HBM3',
      Hostname: 'gpu-h100-0',
      namespace: 'ml',
      pod: 'turbo-abc',
      container: 'runtime',
    });
    expect(util[1]!.labels['pod']).toBeUndefined();
    const free = metrics.get('DCGM_FI_DEV_FB_FREE')![0]!;
    expect(free.value).toBe(81_559 - 13_000);
    expect(text).toContain('# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter');
  });

  it('has profiling fields on datacenter cards only (dcgm-exporter#395)', () => {
    const prof = parseTextFormat(text).get('DCGM_FI_PROF_GR_ENGINE_ACTIVE') ?? [];
    expect(prof.map((s) => s.labels['Hostname'])).toEqual(['gpu-h100-0']);
    expect(prof[0]!.value).toBeCloseTo(0.374, 6);
    expect(hasProfiling(nodeDevices(rtxNode)[0]!)).toBe(false);
  });
});

describe('dcgm-exporter flags', () => {
  it.each([
    [
      'defaults: 30 s, :9400 on the pod IP',
      [],
      { ZIMAGE_POD_IP: '127.1.128.3' },
      30_000,
      '127.1.128.3',
    ],
    [
      '-c wins over the environment',
      ['-c', '1000'],
      { DCGM_EXPORTER_INTERVAL: '5000' },
      1_000,
      '127.0.0.1',
    ],
    ['DCGM_EXPORTER_INTERVAL', [], { DCGM_EXPORTER_INTERVAL: '2000' }, 2_000, '127.0.0.1'],
  ])('%s', (_n, argv, env, interval, host) => {
    const o = exporterOptions(argv, env);
    expect(o.intervalMs).toBe(interval);
    expect(o.host).toBe(host);
    expect(o.port).toBe(9400);
  });

  it('refuses a bad interval, naming the flag', () => {
    expect(() => exporterOptions(['-c', 'soon'], {})).toThrow(/-c\/DCGM_EXPORTER_INTERVAL: "soon"/);
  });
});
