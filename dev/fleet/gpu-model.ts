/**
 * What the dcgm-exporter stand-in "reads from the GPU" each collection interval, from the
 * process that holds it: utilization is the share of the interval the runtime was generating
 * (the rate of zimage_generation_busy_seconds_total), memory is the card model's figure for
 * the config, sessions and image in flight that the runtime reports now. Pure; time is given.
 */
import {
  cardForProduct,
  components,
  memoryInUse,
  type Component,
} from '../../src/contract/card.ts';
import { attentionBackends, offloadModes } from '../../src/contract/runtime.ts';
import type { TextMetrics } from '../../src/formats/prometheus-text.ts';
import type { GpuReading } from './dcgm-metrics.ts';
import type { GpuAssignment, GpuDevice } from './gpus.ts';

/** What one scrape of a runtime's /metrics says. */
export interface RuntimeSnapshot {
  atMs: number;
  busySeconds: number;
  /** From zimage_config_info; absent before the engine has started. */
  config?: {
    offload: (typeof offloadModes)[number];
    attention: (typeof attentionBackends)[number];
  };
  resident: Component[];
  generatingPixels: number;
}

export function snapshotOf(metrics: TextMetrics, atMs: number): RuntimeSnapshot | undefined {
  const busy = metrics.get('zimage_generation_busy_seconds_total')?.[0];
  if (!busy) return undefined;
  const info = metrics.get('zimage_config_info')?.find((s) => s.value === 1)?.labels;
  const offload = offloadModes.find((m) => m === info?.['offload']);
  const attention = attentionBackends.find((a) => a === info?.['attention']);
  const sessions = metrics.get('zimage_resident_sessions') ?? [];
  const resident = components.filter((c) =>
    sessions.some((s) => s.labels['component'] === c && s.value > 0),
  );
  const pixels = metrics.get('zimage_generation_inflight_pixels')?.[0]?.value ?? 0;
  return {
    atMs,
    busySeconds: busy.value,
    ...(offload && attention ? { config: { offload, attention } } : {}),
    resident,
    generatingPixels: pixels,
  };
}

const MiB = 2 ** 20;
/** Board power and temperature of an idle card warm up linearly with load (estimates). */
const idleTemperatureC = 30;
const loadTemperatureC = 45;

/** One GPU's state across collection intervals. */
export class GpuModel {
  private last: RuntimeSnapshot | undefined;
  private lastAtMs: number | undefined;
  private energyMj = 0;
  readonly device: GpuDevice;
  readonly hostname: string;

  constructor(device: GpuDevice, hostname: string) {
    this.device = device;
    this.hostname = hostname;
  }

  /**
   * Read at `atMs` with what the holder's runtime reported (undefined: no holder, or its
   * /metrics did not answer). A new holder starts from its own first sample: its busy time
   * before this interval is not this GPU's.
   */
  read(atMs: number, assignment: GpuAssignment | undefined, now: RuntimeSnapshot | undefined) {
    const prev = this.last;
    const util =
      prev && now && now.atMs > prev.atMs && now.busySeconds >= prev.busySeconds
        ? ((now.busySeconds - prev.busySeconds) / ((now.atMs - prev.atMs) / 1000)) * 100
        : 0;
    this.last = now;
    const utilPercent = Math.min(100, Math.max(0, util));
    const card = cardForProduct(this.device.product);
    const idleW = card?.idleWatts ?? 50;
    const maxW = card?.maxWatts ?? 300;
    const powerWatts = idleW + (maxW - idleW) * (utilPercent / 100);
    if (this.lastAtMs !== undefined) this.energyMj += powerWatts * (atMs - this.lastAtMs);
    this.lastAtMs = atMs;
    const reading: GpuReading = {
      device: this.device,
      hostname: this.hostname,
      utilPercent,
      fbUsedMiB: now ? usedMiB(now) : 0,
      powerWatts,
      energyMillijoules: this.energyMj,
      temperatureC: idleTemperatureC + loadTemperatureC * (utilPercent / 100),
      ...(assignment ? { assignment } : {}),
    };
    return reading;
  }

  /** Forget the holder's samples (the GPU changed hands). */
  reset(): void {
    this.last = undefined;
  }
}

/**
 * zimage_config_info has no precision label; bf16 and fp16 weigh the same 2 bytes, so the
 * card model's memory does not depend on it. A square image stands in for the in-flight
 * size: only width x height enters the model.
 */
function usedMiB(s: RuntimeSnapshot): number {
  if (!s.config) return 0;
  const side = Math.sqrt(s.generatingPixels);
  const generating = s.generatingPixels > 0 ? { width: side, height: side } : undefined;
  return memoryInUse({ ...s.config, precision: 'bf16' }, s.resident, generating) / MiB;
}
