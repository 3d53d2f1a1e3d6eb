/**
 * Kubernetes HPA with its defaults (kubernetes website, horizontal-pod-autoscale.md): every 15 s
 * desired = ceil(N x metric / target), nothing within 10% of the target, scale-up at most
 * max(100%, 4 pods) per 15 s, scale-down to the highest recommendation of the last 300 s.
 * N is the pods reporting the metric (those holding GPUs). KEDA (keda.ts) runs on this too.
 */
import { clampTo, type Bounds, type Controller } from './controller.ts';
import type { Sample, SampleSource } from '../recorder.ts';

export interface HpaOptions extends Bounds {
  name: string;
  /** The metric per pod, read at each sync. */
  metric: (recorder: SampleSource, now: number) => { value: number; pods: number } | undefined;
  target: number;
  syncSeconds?: number;
}

export const hpaDefaults = {
  syncSeconds: 15,
  tolerance: 0.1,
  scaleDownStabilizationSeconds: 300,
  scaleUpPods: 4,
  scaleUpPercent: 100,
} as const;

export function hpa(o: HpaOptions): Controller {
  const recommendations: { at: number; replicas: number }[] = [];
  let current: number | undefined;
  return {
    name: o.name,
    periodSeconds: o.syncSeconds ?? hpaDefaults.syncSeconds,
    log: [],
    tick(now, recorder) {
      const last = recorder.samples.at(-1);
      const replicas = current ?? last?.replicas ?? o.minReplicas;
      const m = o.metric(recorder, now);
      let desired = replicas;
      if (m && m.pods > 0) {
        const ratio = m.value / o.target;
        if (Math.abs(ratio - 1) > hpaDefaults.tolerance) desired = Math.ceil(m.pods * ratio);
      }
      const upLimit = Math.max(
        replicas * (1 + hpaDefaults.scaleUpPercent / 100),
        replicas + hpaDefaults.scaleUpPods,
      );
      desired = Math.min(desired, upLimit);
      recommendations.push({ at: now, replicas: desired });
      const window = now - hpaDefaults.scaleDownStabilizationSeconds;
      while (recommendations.length > 0 && recommendations[0]!.at <= window)
        recommendations.shift();
      const stabilized = Math.max(...recommendations.map((r) => r.replicas));
      current = clampTo(desired < replicas ? Math.min(replicas, stabilized) : desired, o);
      return { replicas: current };
    },
  };
}

/**
 * dcgm-exporter's utilization averaged over the last sync period, over every pod holding a GPU
 * (HPA counts the pods that report the metric; N x mean is the busy total either way).
 */
export function gpuUtilization(recorder: SampleSource, seconds = 15) {
  const w: Sample[] = recorder.window(seconds);
  if (w.length === 0) return undefined;
  return { value: w.reduce((s, x) => s + x.utilGpus, 0) / w.length, pods: w.at(-1)!.gpuPods };
}
