/**
 * The quality ladder: what the autoscaler gives up, one notch at a time, when scaling out
 * cannot help now, and the test it applies before giving a notch back.
 *
 * Order down: steps, one at a time, to the floor (4 transformer passes: half of the 8 Turbo is
 * distilled for, provisional while no public quality-vs-steps sweep exists; steps 5 under
 * Turbo's schedule, where 9 steps are 8 passes). Under VRAM pressure
 * offload comes first (none -> model -> cpu), since fewer steps free no memory. Offload is
 * never taken for load alone: it frees memory but costs time on every image (card model: 9.0
 * -> 13.5 s at 1024^2 on the 16 GB 4090 profile, 1.2 -> 3.5 s on an H100), so below the steps
 * floor the ladder stops. Up: the newest notch first (the stack in status), so the order up is
 * the order down reversed.
 */
import { forwardsFor, memoryPlan, cards, type Workload } from '../../contract/card.ts';
import { offloadModes } from '../../contract/runtime.ts';
import type { QualitySettings } from '../api/v1alpha1/status.ts';
import { valueOf, type Signals } from './signals.ts';
import type { PolicyRule, PolicySpec } from './spec.ts';

/** The floor: never fewer transformer passes per image than this. */
export const floorPasses = 4;

/** Transformer passes per image at `steps` (Turbo's schedule: the last step has dt 0). */
export function passesOf(steps: number): number {
  return forwardsFor({ steps });
}

/** Fewest steps the ladder goes to: 5 (4 passes); the spec's own steps when already lower. */
export function floorSteps(base: QualitySettings): number {
  return Math.min(base.steps, floorPasses + 1);
}

function nextOffload(offload: QualitySettings['offload']): QualitySettings['offload'] | undefined {
  return offloadModes[offloadModes.indexOf(offload) + 1];
}

/** One notch below `now`, or undefined at the floor. */
export function lowerOne(
  now: QualitySettings,
  base: QualitySettings,
  vramPressure: boolean,
): QualitySettings | undefined {
  const offload = vramPressure ? nextOffload(now.offload) : undefined;
  if (offload) return { ...now, offload };
  if (now.steps > floorSteps(base)) return { ...now, steps: now.steps - 1 };
  return undefined;
}

/**
 * Signals that grow with the GPU time each image takes (engine latency is per image too, and
 * the client's wait is queued images' GPU time plus its own).
 */
const loadSignals = new Set([
  'gpuUtilization',
  'latencyP95Seconds',
  'waitP95Seconds',
  'queueDepth',
]);

/** Peak VRAM of one image of the largest size: the card model's memory plan. */
function peakBytes(spec: PolicySpec, q: QualitySettings): number {
  const w: Workload = { ...spec.maxImage, ...q, precision: spec.precision };
  // Memory arithmetic does not depend on the card's speed; any card profile will do.
  return memoryPlan(cards['h100-80gb'], w).peakBytes;
}

export type Prediction = { ok: true } | { ok: false; blockedBy: 'load' | 'vram'; message: string };

/**
 * Would giving `now` back to `before` keep every pressure rule past its clear level? The same
 * test as the N/(N-1) scale-in guard, for quality: GPU time per image grows at most with the
 * passes (e.g. util 60% at steps 5 -> 6 is at most 60 x 5/4 = 75%, under gpu-saturated's 81;
 * the fixed text-encoder and VAE share makes the real rise smaller), and VRAM grows by what the
 * card model says the restored offload or kernel keeps resident (model -> none at 1024^2: +8.1
 * GB of text encoder and VAE weights, 13.5 -> 21.6 GB: never on a 16 GB card).
 */
export function predictRestore(
  now: QualitySettings,
  before: QualitySettings,
  signals: Signals,
  spec: PolicySpec,
): Prediction {
  const factor = passesOf(before.steps) / passesOf(now.steps);
  const growth = (peakBytes(spec, before) - peakBytes(spec, now)) / spec.memoryBytes;
  for (const r of spec.rules.filter((p) => p.rule.operator === 'Above')) {
    const signal = r.rule.signal;
    // A toDemand rule gives its own notches back (demand-act.ts); it blocks no other rule's.
    if (signal === 'demandUtilization') continue;
    const value = valueOf(signals[signal]);
    if (value === undefined) continue;
    const predicted = predictedValue(r, value, factor, growth);
    if (predicted !== undefined && predicted >= r.clear) {
      const blockedBy = r.rule.signal === 'vramUsedRatio' ? 'vram' : 'load';
      const message = `${r.rule.signal} would reach ${round(predicted)} (rule ${r.name} clears at ${r.clear})`;
      return { ok: false, blockedBy, message };
    }
  }
  return { ok: true };
}

function predictedValue(
  r: PolicyRule,
  value: number,
  factor: number,
  growth: number,
): number | undefined {
  if (r.rule.signal === 'vramUsedRatio') return growth > 0 ? value + growth : undefined;
  return loadSignals.has(r.rule.signal) && factor > 1 ? value * factor : undefined;
}

export const round = (v: number) => Math.round(v * 1000) / 1000;
