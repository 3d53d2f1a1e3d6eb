/**
 * Whether a request fits the pod's GPU, by the card model (src/contract/card.ts): a size whose
 * estimated peak VRAM is over the budget is refused at admission (422 does_not_fit) with the
 * size, the card and the fix, instead of running into an out-of-memory failure that costs a
 * session recreation (or, after ZIMAGE_MAX_OOM_RESTARTS in a row, the pod).
 *
 * The budget is the smaller of the card's memory (ZIMAGE_GPU_CARD) and ZIMAGE_GPU_MEMORY_GIB
 * (spec.gpu.memoryGiB): a MIG slice has less than its card, and a default 80 GiB rendered for a
 * 16 GB card must not raise the card. With neither set there is nothing to check against;
 * on the CPU EP only a card turns the check on (the local fleet, where the tiny model stands in
 * for the real one on a modelled card): the CPU has no VRAM of its own.
 */
import { cards, memoryPlan, type Card, type CardId, type Workload } from '../contract/card.ts';
import {
  fleetEnv,
  offloadModes,
  runtimeEnv,
  type AttentionBackend,
  type OffloadMode,
  type Precision,
} from '../contract/runtime.ts';
import type { RuntimeConfig } from './config.ts';
import { formatSize, type Size } from '../contract/size.ts';
import { sizeRules } from '../image-api/size.ts';

const GiB = 2 ** 30;

export interface GpuBudget {
  /** The modelled card, when ZIMAGE_GPU_CARD names one. */
  card: Card | undefined;
  /** VRAM a generation must fit in. */
  memoryBytes: number;
}

export type FitConfig = Pick<
  RuntimeConfig,
  'executionProvider' | 'gpuCard' | 'gpuMemoryGiB' | 'attention' | 'precision'
>;

/** The VRAM budget, or undefined when there is none to check against. */
export function gpuBudget(config: FitConfig): GpuBudget | undefined {
  const card = config.gpuCard === undefined ? undefined : cards[config.gpuCard];
  if (config.executionProvider === 'cpu' && !card) return undefined;
  const declared = config.gpuMemoryGiB === undefined ? undefined : config.gpuMemoryGiB * GiB;
  const memoryBytes = Math.min(card?.memoryBytes ?? Infinity, declared ?? Infinity);
  return Number.isFinite(memoryBytes) ? { card, memoryBytes } : undefined;
}

/** Why there is no VRAM check, for the start-up log; undefined when there is one. */
export function noBudgetReason(config: FitConfig): string | undefined {
  if (gpuBudget(config)) return undefined;
  return config.executionProvider === 'cpu'
    ? `no VRAM check: the CPU EP has no VRAM and ${fleetEnv.gpuCard} names no card to model`
    : `no VRAM check: neither ${fleetEnv.gpuCard} nor ${runtimeEnv.gpuMemoryGiB} is set`;
}

/** What /readyz says about the GPU the runtime models or checks against. */
export interface GpuInfo {
  card: CardId | null;
  /** The VRAM budget; null: no fit check. */
  memoryGiB: number | null;
  /** Stages held for the card model's time (local fleet only). */
  pacing: boolean;
}

export function gpuInfo(config: FitConfig & Pick<RuntimeConfig, 'pacing'>): GpuInfo {
  const budget = gpuBudget(config);
  return {
    card: config.gpuCard ?? null,
    memoryGiB: budget ? round1(budget.memoryBytes / GiB) : null,
    pacing: config.pacing,
  };
}

export interface FitSettings {
  attention: AttentionBackend;
  precision: Precision;
  offload: OffloadMode;
}

/** Peak VRAM of one generation: the workload alone decides it (the card only enters `fits`). */
function peakBytes(size: Size, steps: number, s: FitSettings): number {
  const w: Workload = { ...size, steps, ...s };
  return memoryPlan(cards['h100-80gb'], w).peakBytes;
}

/**
 * Why this request cannot fit, with the fix, or undefined when it fits. E.g. on the 16 GB
 * budget with no offload even 512x512 needs 0.5 GB of context + 20.44 GB of resident weights
 * + 0.5 GB for its VAE decode = 21.4 GB: "512x512 needs ~20 GiB with attention=flash
 * offload=none on rtx4090-16gb (16 GiB); lower the size or raise offload to model (~12.1 GiB)".
 */
export function fitProblem(
  budget: GpuBudget,
  size: Size,
  steps: number,
  s: FitSettings,
): string | undefined {
  const need = peakBytes(size, steps, s);
  if (need <= budget.memoryBytes) return undefined;
  const memory = gib(budget.memoryBytes);
  const on = budget.card ? `${budget.card.id} (${memory})` : `a GPU with ${memory}`;
  const what = `${formatSize(size)} needs ~${gib(need)} with attention=${s.attention} offload=${s.offload} on ${on}`;
  return `${what}; ${fix(budget, size, steps, s)}`;
}

/** A request's size and steps -> the refusal, or undefined; reads the offload running now. */
export type FitCheck = (size: Size, steps: number) => string | undefined;

/** The route's check, or undefined when there is no budget (no card, no memory, or CPU only). */
export function fitCheck(config: FitConfig, offload: () => OffloadMode): FitCheck | undefined {
  const budget = gpuBudget(config);
  if (!budget) return undefined;
  const { attention, precision } = config;
  return (size, steps) =>
    fitProblem(budget, size, steps, { attention, precision, offload: offload() });
}

function fix(budget: GpuBudget, size: Size, steps: number, s: FitSettings): string {
  const fits = (at: Size, offload: OffloadMode) =>
    peakBytes(at, steps, { ...s, offload }) <= budget.memoryBytes;
  const higher = offloadModes.slice(offloadModes.indexOf(s.offload) + 1);
  const offload = higher.find((mode) => fits(size, mode));
  if (offload) {
    const need = peakBytes(size, steps, { ...s, offload });
    return `lower the size or raise offload to ${offload} (~${gib(need)})`;
  }
  const side = largestSquare(Math.min(size.width, size.height), (px) =>
    fits({ width: px, height: px }, s.offload),
  );
  if (side)
    return `lower the size (the largest square that fits is ${formatSize({ width: side, height: side })})`;
  const last = offloadModes[offloadModes.length - 1] ?? s.offload;
  const smallest = { width: sizeRules.min, height: sizeRules.min };
  return `nothing fits: even ${formatSize(smallest)} with offload=${last} needs ~${gib(peakBytes(smallest, steps, { ...s, offload: last }))}`;
}

/** The largest multiple of 16 in [64, below) whose square fits, if any (at most 255 tries). */
function largestSquare(below: number, fits: (px: number) => boolean): number | undefined {
  const { multiple, min } = sizeRules;
  for (let px = Math.floor((below - 1) / multiple) * multiple; px >= min; px -= multiple) {
    if (fits(px)) return px;
  }
  return undefined;
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const gib = (bytes: number) => `${round1(bytes / GiB)} GiB`;
