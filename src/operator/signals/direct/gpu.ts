/**
 * The GPU signals of one object from dcgm-exporter scrapes: its pods' GPUs found by holder
 * label, then the same aggregates as the Prometheus queries (prometheus/promql.ts): utilization
 * the mean of its GPUs, VRAM the fullest card (ratio) and the largest used and total (MiB ->
 * bytes). A pod whose exporter failed, is missing or names no pods is left out with a note;
 * when no pod has a GPU reading the signal is missing, with the most actionable reason.
 */
import type { ExporterRef, Gpu } from './dcgm.ts';
import type { Failure } from '../http.ts';
import { fromNumber, missing, type MissingReason, type PodRef, type Reading } from '../sample.ts';
import { keyOf } from '../../../contract/object-key.ts';

export type GpuSignal = 'gpuUtilization' | 'vramUsedRatio' | 'vramUsedBytes' | 'vramTotalBytes';
const gpuSignals: readonly GpuSignal[] = [
  'gpuUtilization',
  'vramUsedRatio',
  'vramUsedBytes',
  'vramTotalBytes',
];

const mib = 1024 * 1024;

/** One exporter's scrape this tick. */
export interface ExporterScrape {
  exporter: ExporterRef;
  result: { ok: true; gpus: Gpu[] } | Failure;
}

/** What every exporter scrape of the tick says, indexed once for all objects. */
export class GpuIndex {
  readonly scrapes: readonly ExporterScrape[];
  private readonly byHolder = new Map<string, { gpu: Gpu; exporter: ExporterRef }[]>();

  constructor(scrapes: readonly ExporterScrape[]) {
    this.scrapes = scrapes;
    for (const s of scrapes) {
      if (!s.result.ok) continue;
      for (const gpu of s.result.gpus) {
        if (!gpu.holder) continue;
        const list = this.byHolder.get(gpu.holder) ?? [];
        list.push({ gpu, exporter: s.exporter });
        this.byHolder.set(gpu.holder, list);
      }
    }
  }

  gpusOf(pod: string): { gpu: Gpu; exporter: ExporterRef }[] {
    return this.byHolder.get(pod) ?? [];
  }
}

/** Most actionable first: a label fix, then a missing exporter, then a failing one. */
const priority: MissingReason[] = ['MissingPodLabel', 'ExporterNotFound', 'Stale', 'NoData'];

/** Why `pod` has no GPU reading. */
function whyNone(pod: PodRef, index: GpuIndex): { reason: MissingReason; message: string } {
  const name = keyOf(pod);
  const onNode = index.scrapes.filter(
    (s) => pod.nodeName === undefined || s.exporter.nodeName === pod.nodeName,
  );
  if (onNode.length === 0) {
    return {
      reason: 'ExporterNotFound',
      message: `${name}: no dcgm-exporter pod on node ${pod.nodeName}`,
    };
  }
  const ok = onNode.filter((s) => s.result.ok);
  if (ok.length === 0) {
    const first = onNode[0]!.result;
    return {
      reason: 'Stale',
      message: `${name}: its dcgm-exporter failed (${first.ok ? '' : first.message})`,
    };
  }
  // Free GPUs have no holder either: only an exporter that names no holder at all has its
  // pod mapping off. One that names others but not this pod has no data for it.
  const gpus = ok.flatMap((s) => (s.result.ok ? s.result.gpus : []));
  if (gpus.length > 0 && gpus.every((g) => !g.holder)) {
    return {
      reason: 'MissingPodLabel',
      message: `${name}: dcgm-exporter on its node labels no GPU with a pod: set DCGM_EXPORTER_KUBERNETES=true`,
    };
  }
  return { reason: 'NoData', message: `${name}: no GPU series of dcgm-exporter names it` };
}

export interface GpuContext {
  key: string;
  at: number;
  /** Seconds between this tick's scrape and the last (the floor of the interval). */
  tickSeconds: number;
}

function values(gpus: readonly Gpu[]): Record<GpuSignal, number | undefined> {
  const utils = gpus.flatMap((g) => (g.utilPercent === undefined ? [] : [g.utilPercent]));
  const cards = gpus.filter((g) => g.usedMiB !== undefined && g.freeMiB !== undefined);
  const max = (xs: number[]) => (xs.length === 0 ? undefined : Math.max(...xs));
  return {
    gpuUtilization:
      utils.length === 0 ? undefined : utils.reduce((a, b) => a + b, 0) / utils.length,
    vramUsedRatio: max(cards.map((g) => g.usedMiB! / (g.usedMiB! + g.freeMiB!))),
    vramUsedBytes: max(cards.map((g) => g.usedMiB! * mib)),
    vramTotalBytes: max(cards.map((g) => (g.usedMiB! + g.freeMiB!) * mib)),
  };
}

function noneReading(pods: readonly PodRef[], index: GpuIndex, key: string): Reading {
  const whys = pods.map((p) => whyNone(p, index));
  const reason = priority.find((r) => whys.some((w) => w.reason === r)) ?? 'NoData';
  const message = whys.find((w) => w.reason === reason)?.message ?? `${key}: no GPU reading`;
  return missing(reason, `${key}: no GPU reading for any of its ${pods.length} pods; ${message}`);
}

/** The GPU signals of one object with `pods` (running, with an IP). */
export function gpuReadings(
  pods: readonly PodRef[],
  index: GpuIndex,
  ctx: GpuContext,
): Record<GpuSignal, Reading> {
  const found = pods.map((p) => ({ pod: p, gpus: index.gpusOf(keyOf(p)) }));
  const withGpus = found.filter((f) => f.gpus.length > 0);
  const out = {} as Record<GpuSignal, Reading>;
  if (withGpus.length === 0) {
    const none = noneReading(pods, index, ctx.key);
    for (const s of gpuSignals) out[s] = none;
    return out;
  }
  const without = found.filter((f) => f.gpus.length === 0).map((f) => whyNone(f.pod, index));
  const gpus = withGpus.flatMap((f) => f.gpus);
  const collectMs = Math.max(...gpus.map((g) => g.exporter.collectIntervalMs));
  const intervalSeconds = Math.max(ctx.tickSeconds, collectMs / 1000);
  const notes = [
    without.length > 0
      ? `${without.length} of ${pods.length} pods without GPU reading (${without.map((w) => w.message).join('; ')})`
      : '',
    gpus.some((g) => g.gpu.fromEngineActive) ? 'utilization from PROF_GR_ENGINE_ACTIVE x 100' : '',
  ].filter(Boolean);
  const v = values(gpus.map((g) => g.gpu));
  const base = { at: ctx.at, intervalSeconds, ...(notes.length ? { note: notes.join('; ') } : {}) };
  for (const s of gpuSignals) {
    const value = v[s];
    const what = s === 'gpuUtilization' ? 'utilization' : 'framebuffer';
    out[s] =
      value === undefined
        ? missing('NoData', `${ctx.key}: dcgm-exporter serves no ${what} metric for its GPUs`)
        : fromNumber(value, base, `${s} of ${ctx.key}`);
  }
  return out;
}
