/**
 * Scripts for decide(): time moves forward explicitly, one decision per second, as Knative's
 * autoscaler tests do with expectScale(t, as, now.Add(...), want). Each step holds some signals
 * for a span of seconds and states what the decisions in that span must add up to.
 *
 * The harness plays the reconciler in Enforce mode (spec.replicas follows state.replicas, pods
 * are Ready at once unless a step says some are starting or Pending) and stores the state as
 * status would: through JSON and the zod schema, checking on every tick that the rebuilt state
 * decides exactly as the one in memory.
 */
import { expect } from 'vitest';
import { zimageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import { autoscalerState, type AutoscalerState } from '../../src/operator/api/v1alpha1/status.ts';
import { decide, type Decision } from '../../src/operator/policy/decide.ts';
import { shortForm } from '../../src/operator/policy/outcome.ts';
import type { MissingReason, Reading, Signals } from '../../src/operator/policy/signals.ts';
import { missing } from '../../src/operator/signals/sample.ts';
import { baseSpec } from './specs.ts';

export const t0 = Date.parse('2026-12-01T08:00:00.000Z');

export interface World {
  gpu?: number;
  vram?: number;
  latency?: number | 'NoObservations';
  /**
   * The clients' wait (waitP95Seconds, which the default slow-generation rule reads). Default:
   * the latency, as with nothing queued the wait is the generation itself.
   */
  wait?: number | 'NoObservations';
  /** The routers' arriving work, image-seconds per second at full quality (stable window). */
  arriving?: number;
  /** The same over the panic window (default: arriving). */
  burst?: number;
  /** The stable window's span so far, seconds (default 60: filled). */
  windowSeconds?: number;
  /** Images and their engine seconds waiting in the routers (default 0). */
  queuedImages?: number;
  queuedWork?: number;
  queue?: number;
  inflight?: number;
  pending?: number;
  starting?: number;
  /** spec.replicas as someone else set it (kubectl scale) for this step. */
  replicas?: number;
  everySeconds?: number;
  missing?: Partial<Record<keyof Omit<Signals, 'fleet'>, MissingReason>>;
}

export interface Expect {
  /** Every action of the span, in order, as "scale 2 -> 3" / "steps 9 -> 8". */
  actions?: string[];
  /** History entries the span added (DryRun included), same form. */
  recorded?: string[];
  replicas?: number;
  steps?: number;
  offload?: string;
  attention?: string;
  level?: number;
  rules?: Record<string, string>;
  /** "Type=Status/Reason". */
  conditions?: string[];
  /** Text a condition message must contain. */
  message?: RegExp;
}

export interface Step {
  /** First and last second of the span (one decision per second). */
  at: number;
  to?: number;
  set?: World;
  want?: Expect;
}

export type SpecPatch = {
  autoscaling?: Record<string, unknown>;
  runtime?: Record<string, unknown>;
  gpu?: Record<string, unknown>;
  router?: Record<string, unknown>;
};

/**
 * A policy spec on the 16 GB card. Without the router unless the patch turns it on: the
 * default rules are then the utilization and wait ones most rows exercise (with the router
 * the defaults scale to demand: policy-demand.test.ts).
 */
export function specOf(patch: SpecPatch = {}) {
  const b = baseSpec();
  return zimageDeploymentSpec.parse({
    ...b,
    router: { enabled: false, ...patch.router },
    runtime: { ...b.runtime, ...patch.runtime },
    gpu: { memoryGiB: 16, ...patch.gpu },
    autoscaling: { mode: 'Enforce', minReplicas: 1, maxReplicas: 4, ...patch.autoscaling },
  });
}

const value = (v: number, every: number): Reading => ({
  ok: true,
  value: v,
  intervalSeconds: every,
  at: t0,
});

const windowed = (v: number, every: number, windowSeconds: number): Reading => ({
  ok: true,
  value: v,
  intervalSeconds: every,
  at: t0,
  windowSeconds,
});

const observed = (v: number | 'NoObservations', every: number): Reading =>
  v === 'NoObservations'
    ? missing('NoObservations', 'no image finished in the window')
    : value(v, every);

/** What the routers report: demand at full quality, and the queue. */
function routerOf(world: World, every: number) {
  const arriving = world.arriving ?? 0;
  return {
    routerQueuedImages: value(world.queuedImages ?? 0, every),
    routerQueuedWorkSeconds: value(world.queuedWork ?? 0, every),
    arrivedImagesPerSecond: value(0, every),
    arrivedWorkPerSecond: windowed(arriving, every, world.windowSeconds ?? 60),
    burstWorkPerSecond: windowed(world.burst ?? arriving, every, 10),
  };
}

export function signalsOf(world: World, replicas: number): Signals {
  const every = world.everySeconds ?? 1;
  const pending = world.pending ?? 0;
  const ready = Math.max(0, replicas - pending - (world.starting ?? 0));
  const vram = world.vram ?? 0.5;
  const s: Signals = {
    gpuUtilization: value(world.gpu ?? 50, every),
    vramUsedRatio: value(vram, every),
    vramUsedBytes: value(vram * 16 * 2 ** 30, every),
    latencyP95Seconds: observed(world.latency ?? 9, every),
    waitP95Seconds: observed(world.wait ?? world.latency ?? 9, every),
    queueDepth: value(world.queue ?? 0, every),
    inflight: value(world.inflight ?? 1, every),
    ...routerOf(world, every),
    pendingPods: value(pending, every),
    fleet: { replicas, readyReplicas: ready },
  };
  for (const [name, reason] of Object.entries(world.missing ?? {}))
    Object.assign(s, { [name]: missing(reason, `${name} is ${reason} (test)`) });
  return s;
}

/** Status as stored: JSON, then the CRD's zod schema. */
export function fromStatus(state: unknown): AutoscalerState {
  return autoscalerState.parse(JSON.parse(JSON.stringify(state)));
}

export interface Run {
  state: AutoscalerState | undefined;
  replicas: number;
  world: World;
}

function check(want: Expect, got: Decision, actions: string[], recorded: string[]) {
  const s = got.state;
  if (want.actions) expect(actions, 'actions').toEqual(want.actions);
  if (want.recorded) expect(recorded, 'recorded').toEqual(want.recorded);
  if (want.replicas !== undefined) expect(s.replicas, 'replicas').toBe(want.replicas);
  if (want.steps !== undefined) expect(s.effective.steps, 'steps').toBe(want.steps);
  if (want.offload) expect(s.effective.offload, 'offload').toBe(want.offload);
  if (want.attention) expect(s.effective.attention, 'attention').toBe(want.attention);
  if (want.level !== undefined) expect(s.qualityLevel, 'quality level').toBe(want.level);
  for (const [name, state] of Object.entries(want.rules ?? {}))
    expect(s.rules.find((r) => r.name === name)?.state, `rule ${name}`).toBe(state);
  const conditions = got.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`);
  for (const c of want.conditions ?? []) expect(conditions, 'conditions').toContain(c);
  if (want.message) expect(got.conditions.map((c) => c.message).join('\n')).toMatch(want.message);
}

/** Play a script; returns the last decision. */
export function play(
  spec: ReturnType<typeof specOf>,
  script: Step[],
  run: Run = { state: undefined, replicas: 2, world: {} },
): Decision {
  let last: Decision | undefined;
  for (const step of script) {
    run.world = { ...run.world, ...step.set };
    const actions: string[] = [];
    const recorded: string[] = [];
    for (let t = step.at; t <= (step.to ?? step.at); t++) {
      const replicas = step.set?.replicas ?? run.replicas;
      const signals = signalsOf(run.world, replicas);
      const now = t0 + t * 1000;
      last = decide(signals, run.state, spec, now);
      if (run.state) expect(decide(signals, fromStatus(run.state), spec, now)).toEqual(last);
      actions.push(...last.actions.map(shortForm));
      recorded.push(...newEntries(run.state, last.state));
      run.state = fromStatus(last.state);
      run.replicas = last.state.replicas ?? replicas;
    }
    if (step.want) check(step.want, last!, actions, recorded);
  }
  return last!;
}

/** History entries written at the decision just made (their time is `now`). */
function newEntries(prev: AutoscalerState | undefined, next: AutoscalerState): string[] {
  const latest = next.history.at(-1)?.time;
  if (!latest || latest === prev?.history.at(-1)?.time) return [];
  return next.history
    .filter((h) => h.time === latest)
    .map((h) => `${h.action} ${h.from} -> ${h.to}${h.dryRun ? ' (dry run)' : ''}`);
}
