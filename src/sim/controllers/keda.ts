/**
 * KEDA with its defaults (keda-docs, reference/scaledobject-spec.md): a ScaledObject with one
 * Prometheus trigger, for which KEDA creates an HPA (hpa.ts: 15 s sync, 10% tolerance, the
 * default behavior) on an External metric with an AverageValue target.
 *
 * The signal: requests in the pods, queued and generating, the runtime's zimage_queue_depth +
 * zimage_inflight_requests summed over the pods (behind the router, plus the images waiting
 * there: zimage_router_queued_images), threshold 2: a pod with one image running and one
 * waiting is on target. The HPA divides the total by the Deployment's pods (Pending ones too).
 *
 * When it is read: pollingInterval (30 s) paces KEDA's own checks, which scale 0 <-> 1 only;
 * from 1 to N the HPA asks KEDA's metrics server at each 15 s sync, which queries Prometheus
 * then, unless the ScaledObject sets useCachedMetrics (then the value of the last 30 s poll).
 * Prometheus holds the runtime's gauges as last scraped; the HPA's syncs fall on the 15 s
 * scrape grid here, so a sync reads the current second. cooldownPeriod (300 s) only governs
 * scaling to zero, which minReplicas >= 1 rules out.
 */
import type { Bounds, Controller } from './controller.ts';
import { externalPerPodReplicas, hpa } from './hpa.ts';

export const kedaDefaults = { pollingSeconds: 30, cooldownSeconds: 300 } as const;

export interface KedaOptions {
  /** The trigger's threshold, requests per pod (default 2). */
  target?: number;
  /** useCachedMetrics: the HPA reads the value of the last pollingInterval poll (default false). */
  cachedMetrics?: boolean;
}

export function keda(b: Bounds, o: KedaOptions = {}): Controller {
  const target = o.target ?? 2;
  let polled: { at: number; total: number } | undefined;
  return hpa({
    ...b,
    name: `KEDA queue/pod ${target}`,
    metric: (source, now) => {
      const last = source.samples.at(-1);
      if (!last) return undefined;
      const total = last.queue + last.inflight;
      if (!o.cachedMetrics || !polled || now - polled.at >= kedaDefaults.pollingSeconds)
        polled = { at: now, total };
      return externalPerPodReplicas(Math.max(1, last.replicas), polled.total, target);
    },
  });
}
