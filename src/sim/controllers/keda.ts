/**
 * KEDA with its defaults (keda-docs scaledobject-spec.md): a Prometheus trigger polled every
 * 30 s, feeding an HPA it creates (15 s sync, 10% tolerance, 300 s scale-down stabilization).
 * cooldownPeriod (300 s) only governs scaling to zero, which minReplicaCount >= 1 rules out.
 * The trigger: requests in the pods (queued + generating) per pod, AverageValue 2: a pod with
 * one image running and one waiting is on target.
 */
import type { Bounds, Controller } from './controller.ts';
import { hpa } from './hpa.ts';

export const kedaDefaults = { pollingSeconds: 30, cooldownSeconds: 300 } as const;

export function keda(b: Bounds, target = 2): Controller {
  let polled: { at: number; value: number; pods: number } | undefined;
  return hpa({
    ...b,
    name: `KEDA queue/pod ${target}`,
    target,
    metric: (recorder, now) => {
      const last = recorder.samples.at(-1);
      if (!last) return undefined;
      if (!polled || now - polled.at >= kedaDefaults.pollingSeconds) {
        const pods = last.replicas - last.pending;
        polled = { at: now, value: (last.queue + last.inflight) / Math.max(1, pods), pods };
      }
      return { value: polled.value, pods: last.replicas - last.pending };
    },
  });
}
