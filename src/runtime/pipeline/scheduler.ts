/**
 * Flow-matching Euler, as diffusers' FlowMatchEulerDiscreteScheduler with Z-Image-Turbo's
 * config (num_train_timesteps 1000, shift 3.0, no dynamic shifting).
 *
 * Two sigma schedules, named in zimage.json:
 * - `linear-to-1/n` (diffusers >= 0.37, PR #13730): sigmas = linspace(1, 1/n, n), n forwards.
 * - `terminal-zero` (the original pipeline: sigma_min = 0): linspace(1, 0, n), so the last step
 *   has dt = 0 and 9 steps are 8 transformer forwards. We skip steps with dt = 0: the result
 *   is identical and one forward cheaper.
 * Both are then shifted, s' = shift*s / (1 + (shift-1)*s), and a terminal 0 is appended.
 * E.g. n = 9, linear-to-1/n: sigma_0 = 1, sigma_8 = 3*(1/9)/(1+2/9) = 0.2727, sigma_9 = 0.
 */
export type SigmaSchedule = 'linear-to-1/n' | 'terminal-zero';

export interface Schedule {
  /** n + 1 values, the last 0. fp32 as diffusers stores them. */
  sigmas: Float32Array;
  /** n values: sigma * num_train_timesteps. */
  timesteps: Float32Array;
}

function linspace(start: number, end: number, n: number): number[] {
  if (n === 1) return [start];
  return Array.from({ length: n }, (_, i) => start + ((end - start) * i) / (n - 1));
}

export function flowMatchSchedule(
  steps: number,
  shift: number,
  schedule: SigmaSchedule,
  numTrainTimesteps = 1000,
): Schedule {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be >= 1, got ${steps}`);
  // diffusers builds the base sigmas in fp32 (torch.linspace / np.linspace then float32).
  const base =
    schedule === 'linear-to-1/n'
      ? linspace(1, 1 / steps, steps).map(Math.fround)
      : linspace(numTrainTimesteps, 0, steps).map((t) => Math.fround(t / numTrainTimesteps));
  const shifted = base.map((s) => Math.fround((shift * s) / (1 + (shift - 1) * s)));
  const sigmas = Float32Array.from([...shifted, 0]);
  const timesteps = Float32Array.from(shifted.map((s) => s * numTrainTimesteps));
  return { sigmas, timesteps };
}

/** Transformer forwards a schedule needs (steps whose dt is 0 are skipped). */
export function forwardsFor(schedule: Schedule): number {
  let n = 0;
  for (let i = 0; i < schedule.timesteps.length; i++)
    if (schedule.sigmas[i + 1] !== schedule.sigmas[i]) n++;
  return n;
}

/**
 * x_{i+1} = x_i + (sigma_{i+1} - sigma_i) * v, computed in fp32 like diffusers (its step
 * upcasts the sample to fp32). `velocity` is the model output already negated.
 */
export function eulerStep(
  latents: Float32Array,
  velocity: Float32Array,
  sigma: number,
  sigmaNext: number,
): void {
  const dt = Math.fround(sigmaNext - sigma);
  for (let i = 0; i < latents.length; i++)
    latents[i] = Math.fround((latents[i] ?? 0) + Math.fround(dt * (velocity[i] ?? 0)));
}
