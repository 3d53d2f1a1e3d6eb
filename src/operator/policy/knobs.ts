/**
 * The quality knobs the autoscaler turns (steps, offload, attention): what a spec asks for, and
 * how two settings differ. One definition for decide(), the reconcile's view of what runs
 * (autoscaling/decision.ts) and the simulator (src/sim).
 */
import type { ZImageDeploymentSpec } from '../api/v1alpha1/spec.ts';
import { qualitySettings, type QualitySettings } from '../api/v1alpha1/status.ts';

/** In the schema's order: the order history and Events list a notch's changes in. */
const knobs = qualitySettings.keyof().options;

/** The quality the spec asks for: what every override departs from and returns to. */
export function qualityOf(spec: ZImageDeploymentSpec): QualitySettings {
  const { steps, offload, attention } = spec.runtime;
  return { steps, offload, attention };
}

/** `steps 9 -> 8`, `offload none -> model`: the knobs that differ. */
export function changedKnobs(
  from: QualitySettings,
  to: QualitySettings,
): { knob: keyof QualitySettings; from: string; to: string }[] {
  return knobs
    .filter((k) => from[k] !== to[k])
    .map((k) => ({ knob: k, from: String(from[k]), to: String(to[k]) }));
}

export function sameQuality(a: QualitySettings, b: QualitySettings): boolean {
  return knobs.every((k) => a[k] === b[k]);
}
