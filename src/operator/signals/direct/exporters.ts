/**
 * dcgm-exporter pods through Kubernetes, for the direct source: a label-selected list in
 * every namespace, refreshed at most every `ttlMs` (a DaemonSet changes when a node joins, not
 * every tick: a 1 s tick must not list pods from the API server every second). A failed list
 * keeps the last good one, so an API server blip does not blind the GPU signals.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { Clock } from '../../../contract/clock.ts';
import { defaultExporterSelector, exporterFromPod, type ExporterRef } from './dcgm.ts';

export interface ExporterListerOptions {
  /** Lists pods in every namespace by label selector (Kube.list('v1', 'Pod', undefined, s)). */
  list: (labelSelector: string) => Promise<{ items: V1Pod[] }>;
  /** Default app=nvidia-dcgm-exporter (the GPU Operator); its own Helm chart's is app.kubernetes.io/name=dcgm-exporter. */
  selector?: string;
  /** Default 30 000. */
  ttlMs?: number;
  clock: Clock;
}

/** A function for DirectSourceOptions.exporters. */
export function exporterLister(options: ExporterListerOptions): () => Promise<ExporterRef[]> {
  const selector = options.selector ?? defaultExporterSelector;
  const ttlMs = options.ttlMs ?? 30_000;
  let cached: { at: number; exporters: ExporterRef[] } | undefined;
  return async () => {
    const now = options.clock.now();
    if (cached && now - cached.at < ttlMs) return cached.exporters;
    try {
      const list = await options.list(selector);
      const exporters = list.items.flatMap((p) => exporterFromPod(p) ?? []);
      cached = { at: now, exporters };
      return exporters;
    } catch (err) {
      // Keep the last good list; try again in 5 s rather than on every tick.
      if (cached) {
        cached = { at: now - ttlMs + Math.min(ttlMs, 5000), exporters: cached.exporters };
        return cached.exporters;
      }
      throw new Error(`listing pods with ${selector} failed`, { cause: err });
    }
  };
}
