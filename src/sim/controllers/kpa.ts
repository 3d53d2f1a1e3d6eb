/**
 * Knative's KPA with its defaults (knative/serving config/core/configmaps/autoscaler.yaml;
 * the decider is pkg/autoscaler/scaling/autoscaler.go Scale(), ticked every 2 s by
 * multiscaler.go):
 *
 * - Concurrency per pod: containerConcurrency 1 (one image at a time) x 70%
 *   (container-concurrency-target-percentage) = target 0.7. Concurrency is what queue-proxy
 *   and the activator count: requests in the pods (queued or generating) and held by the
 *   activator (behind the router: the images waiting there). queue-proxy averages each second;
 *   a sample here is the count at the second.
 * - Averages over the 60 s stable window and the 6 s panic window (10% of it): desired =
 *   ceil(average / 0.7) each, kept within [floor(ready / 2), ceil(1000 x ready)]
 *   (max-scale-down-rate 2, max-scale-up-rate 1000; ready counted at least 1).
 * - Panic when the panic window asks for 2x the Ready pods (panic-threshold-percentage 200),
 *   extended while it still does; in panic the larger of both counts, never below the highest
 *   count of this panic (no scale-down); out of panic 60 s after the last reading over the
 *   threshold.
 * - Excess burst capacity = floor(ready x containerConcurrency - target-burst-capacity (211) -
 *   panic concurrency): the KPA keeps the activator in the path while it is negative
 *   (activator.ts).
 */
import { clampTo, type Bounds, type Controller } from './controller.ts';
import type { SampleSource } from '../recorder.ts';

export const kpaDefaults = {
  tickSeconds: 2,
  stableSeconds: 60,
  panicWindowPercentage: 10,
  panicThreshold: 2,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  containerConcurrency: 1,
  targetUtilization: 0.7,
  targetBurstCapacity: 211,
} as const;

const k = kpaDefaults;
const panicSeconds = Math.round((k.stableSeconds * k.panicWindowPercentage) / 100);
const target = k.containerConcurrency * k.targetUtilization;

/** The decider's memory: when it last saw the panic threshold crossed, and its panic high. */
export interface KpaState {
  panicTime: number | undefined;
  maxPanicPods: number;
}

export interface KpaScale {
  desired: number;
  excessBurstCapacity: number;
}

/** One Scale(): Ready pods and the two windows' average concurrency at `now`. */
export function kpaScale(
  state: KpaState,
  now: number,
  o: { ready: number; stable: number; panic: number },
): KpaScale {
  const ready = Math.max(1, o.ready);
  const maxScaleUp = Math.ceil(k.maxScaleUpRate * ready);
  const maxScaleDown = Math.floor(ready / k.maxScaleDownRate);
  const dspc = Math.ceil(o.stable / target);
  const dppc = Math.ceil(o.panic / target);
  const within = (n: number) => Math.min(Math.max(n, maxScaleDown), maxScaleUp);
  const overThreshold = dppc / ready >= k.panicThreshold;
  if (overThreshold) state.panicTime = now;
  else if (state.panicTime !== undefined && state.panicTime + k.stableSeconds < now) {
    state.panicTime = undefined;
    state.maxPanicPods = 0;
  }
  let desired = within(dspc);
  if (state.panicTime !== undefined) {
    desired = Math.max(desired, within(dppc), state.maxPanicPods);
    state.maxPanicPods = desired;
  }
  const excessBurstCapacity = Math.floor(
    o.ready * k.containerConcurrency - k.targetBurstCapacity - o.panic,
  );
  return { desired, excessBurstCapacity };
}

/** Average concurrency over the last `seconds` of samples. */
function concurrency(source: SampleSource, seconds: number): number {
  const w = source.window(seconds);
  let total = 0;
  for (const s of w) total += s.queue + s.inflight;
  return w.length === 0 ? 0 : total / w.length;
}

export function kpa(b: Bounds): Controller {
  const state: KpaState = { panicTime: undefined, maxPanicPods: 0 };
  return {
    name: 'Knative KPA',
    periodSeconds: k.tickSeconds,
    log: [],
    tick(now, source) {
      const last = source.samples.at(-1);
      if (!last) return {};
      const scale = kpaScale(state, now, {
        ready: last.ready,
        stable: concurrency(source, k.stableSeconds),
        panic: concurrency(source, panicSeconds),
      });
      // The PA's bounds; Serve mode only when it wants pods and has burst capacity to spare.
      const want = clampTo(scale.desired, b);
      return { replicas: want, activator: !(want > 0 && scale.excessBurstCapacity >= 0) };
    },
  };
}
