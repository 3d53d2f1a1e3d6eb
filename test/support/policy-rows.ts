/**
 * Helpers for the decide() table (test/unit/policy-decide.test.ts): rules, the seed's three
 * rules as deploy/examples/seed-rules.yaml has them, and common opening moves.
 */
import type { SpecPatch, Step } from './policy-script.ts';

export interface Row {
  name: string;
  spec?: SpecPatch;
  replicas?: number;
  script: Step[];
}

export const rule = (over: Record<string, unknown>) => ({
  name: 'r',
  signal: 'gpuUtilization',
  operator: 'Above',
  threshold: 90,
  for: '5s',
  cooldown: '30s',
  action: { type: 'Scale', scale: { by: 1 } },
  ...over,
});
export const withRules = (...rules: Record<string, unknown>[]): SpecPatch => ({
  autoscaling: { rules },
});
export const seedRules = withRules(
  rule({
    name: 'vram-over-14gb',
    signal: 'vramUsedRatio',
    threshold: 0.875,
    for: '0s',
    action: { type: 'Attention', attention: 'efficient' },
  }),
  rule({ name: 'gpu-over-90', threshold: 90, for: '5s' }),
  rule({
    name: 'slow-image',
    signal: 'latencyP95Seconds',
    threshold: 15,
    for: '0s',
    action: { type: 'Steps', steps: { set: 16 } },
  }),
);

/** Alternate hi/lo every second from `at` to `to`, wanting no action throughout. */
export function wobble(at: number, to: number, hi: number, lo: number): Step[] {
  return Array.from({ length: to - at + 1 }, (_, i) => ({
    at: at + i,
    set: { gpu: i % 2 === 0 ? hi : lo },
    want: { actions: [] },
  }));
}

/** At maxReplicas (4) with gpu-saturated firing from 0 s: steps 9 -> 8 at 5 s, 8 -> 7 at 35 s. */
export const twoNotchesAtMax: Step[] = [
  { at: 0, to: 35, set: { gpu: 95 }, want: { actions: ['steps 9 -> 8', 'steps 8 -> 7'] } },
];
