/**
 * dcgm-exporter's exposition, from modelled GPU readings: its field names, types, units and
 * HELP texts (dcgm-exporter's default-counters.csv), its label set (gpu, UUID, pci_bus_id,
 * device, modelName, Hostname; container, namespace, pod for a GPU mapped to a pod) and its
 * integer fields as integers. Pure: the collection loop lives in dcgm-exporter.ts.
 */
import { cardForProduct } from '../../src/contract/card.ts';
import type { GpuAssignment, GpuDevice } from './gpus.ts';

export interface GpuReading {
  device: GpuDevice;
  hostname: string;
  assignment?: Pick<GpuAssignment, 'namespace' | 'pod' | 'container'>;
  /** Share of the last collection interval the pod's runtime was generating, 0-100. */
  utilPercent: number;
  fbUsedMiB: number;
  powerWatts: number;
  /** Energy since the exporter started, in mJ (dcgm counts since boot). */
  energyMillijoules: number;
  temperatureC: number;
}

interface Field {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  value: (r: GpuReading) => number;
  /** DCP/profiling fields: datacenter GPUs only (dcgm-exporter#395, #707: absent on GeForce). */
  profiling?: boolean;
}

// The ratios below are modelled, not measured: a diffusion transformer is compute bound, so
// the tensor pipe is busy ~60% of a busy interval and the memory controller ~30% (estimates).
const fields: Field[] = [
  {
    name: 'DCGM_FI_DEV_GPU_TEMP',
    type: 'gauge',
    help: 'GPU temperature (in C).',
    value: (r) => Math.round(r.temperatureC),
  },
  {
    name: 'DCGM_FI_DEV_POWER_USAGE',
    type: 'gauge',
    help: 'Power draw (in W).',
    value: (r) => Math.round(r.powerWatts * 1000) / 1000,
  },
  {
    name: 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION',
    type: 'counter',
    help: 'Total energy consumption since boot (in mJ).',
    value: (r) => Math.round(r.energyMillijoules),
  },
  {
    name: 'DCGM_FI_DEV_GPU_UTIL',
    type: 'gauge',
    help: 'GPU utilization (in %).',
    value: (r) => Math.round(r.utilPercent),
  },
  {
    name: 'DCGM_FI_DEV_MEM_COPY_UTIL',
    type: 'gauge',
    help: 'Memory utilization (in %).',
    value: (r) => Math.round(r.utilPercent * 0.3),
  },
  {
    name: 'DCGM_FI_DEV_FB_FREE',
    type: 'gauge',
    help: 'Framebuffer memory free (in MiB).',
    value: (r) => Math.max(0, Math.round(r.device.memoryMiB - r.fbUsedMiB)),
  },
  {
    name: 'DCGM_FI_DEV_FB_USED',
    type: 'gauge',
    help: 'Framebuffer memory used (in MiB).',
    value: (r) => Math.min(r.device.memoryMiB, Math.round(r.fbUsedMiB)),
  },
  {
    name: 'DCGM_FI_DEV_XID_ERRORS',
    type: 'gauge',
    help: 'Value of the last XID error encountered.',
    value: () => 0,
  },
  {
    name: 'DCGM_FI_PROF_GR_ENGINE_ACTIVE',
    type: 'gauge',
    help: 'Ratio of time the graphics engine is active.',
    value: (r) => round6(r.utilPercent / 100),
    profiling: true,
  },
  {
    name: 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE',
    type: 'gauge',
    help: 'Ratio of cycles the tensor (HMMA) pipe is active.',
    value: (r) => round6((r.utilPercent / 100) * 0.6),
    profiling: true,
  },
];

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function labelsOf(r: GpuReading): string {
  const pairs: [string, string][] = [
    ['gpu', String(r.device.index)],
    ['UUID', r.device.uuid],
    ['pci_bus_id', r.device.pciBusId],
    ['device', r.device.device],
    ['modelName', r.device.modelName],
    ['Hostname', r.hostname],
  ];
  if (r.assignment) {
    pairs.push(
      ['container', r.assignment.container],
      ['namespace', r.assignment.namespace],
      ['pod', r.assignment.pod],
    );
  }
  return pairs.map(([k, v]) => `${k}="${escape(v)}"`).join(',');
}

/** Whether DCP (profiling) fields exist on this GPU: not on GeForce cards. */
export function hasProfiling(device: GpuDevice): boolean {
  return !/GeForce/i.test(cardForProduct(device.product)?.modelName ?? device.modelName);
}

export function renderDcgm(readings: readonly GpuReading[]): string {
  const out: string[] = [];
  for (const field of fields) {
    const rows = readings.filter((r) => !field.profiling || hasProfiling(r.device));
    if (rows.length === 0) continue;
    out.push(`# HELP ${field.name} ${field.help}`, `# TYPE ${field.name} ${field.type}`);
    for (const r of rows) out.push(`${field.name}{${labelsOf(r)}} ${field.value(r)}`);
  }
  return out.join('\n') + '\n';
}
