/**
 * Knative's KPA with its defaults (knative/serving config/core/configmaps/autoscaler.yaml):
 * every 2 s, desired = ceil(concurrency / target) over a 60 s stable window, or over the 6 s
 * panic window when that asks for 2x the Ready pods (panic threshold 200%); in panic it never
 * scales down, until 60 s without a panic reading. Scale-down at most halves per tick (max
 * scale-down rate 2). Target: containerConcurrency 1 (one image per pod) x 70% utilization.
 * Concurrency is what its queue-proxy counts: requests in the pod, queued or generating.
 */
import { clampTo, type Bounds, type Controller } from './controller.ts';
import { mean } from '../recorder.ts';

export const kpaDefaults = {
  tickSeconds: 2,
  stableSeconds: 60,
  panicSeconds: 6,
  panicThreshold: 2,
  maxScaleDownRate: 2,
  targetPerPod: 0.7,
} as const;

export function kpa(b: Bounds): Controller {
  let panicUntil = -Infinity;
  let current: number | undefined;
  const k = kpaDefaults;
  return {
    name: 'Knative KPA',
    periodSeconds: k.tickSeconds,
    log: [],
    tick(now, recorder) {
      const last = recorder.samples.at(-1);
      if (!last) return {};
      const replicas = current ?? last.replicas;
      const concurrency = (seconds: number) =>
        mean(recorder.window(seconds).map((s) => s.queue + s.inflight));
      const stable = Math.ceil(concurrency(k.stableSeconds) / k.targetPerPod);
      const panic = Math.ceil(concurrency(k.panicSeconds) / k.targetPerPod);
      if (panic / Math.max(1, last.ready) >= k.panicThreshold) panicUntil = now + k.stableSeconds;
      let desired = now < panicUntil ? Math.max(replicas, panic) : stable;
      desired = Math.max(desired, Math.ceil(replicas / k.maxScaleDownRate));
      current = clampTo(desired, b);
      return { replicas: current };
    },
  };
}
