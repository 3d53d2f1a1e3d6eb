/**
 * dcgm-exporter for the direct source: its pods found through Kubernetes (a label selector in
 * every namespace), its collection interval read from their spec, and its GPUs mapped to the
 * pods that hold them by the pod/namespace labels it writes with DCGM_EXPORTER_KUBERNETES=true
 * (exported_pod/exported_namespace first: a relabeling that kept both moved the holder there).
 */
import type { V1Pod } from '@kubernetes/client-node';
import { dcgmLabels, dcgmMetrics } from '../../../contract/metrics.ts';
import { keyOf } from '../../../contract/object-key.ts';
import type { TextMetrics } from '../../../formats/prometheus-text.ts';

/** The label selector of dcgm-exporter pods: its Helm chart's name label. */
/**
 * The NVIDIA GPU Operator's label (what most GPU clusters run); dcgm-exporter's own Helm chart
 * labels app.kubernetes.io/name=dcgm-exporter (--dcgm-exporter-selector).
 */
export const defaultExporterSelector = 'app=nvidia-dcgm-exporter';
/** dcgm-exporter's metrics port (its `:9400` default address). */
export const defaultExporterPort = 9400;
/** dcgm-exporter's default collection interval (-c / DCGM_EXPORTER_INTERVAL), ms. */
export const defaultCollectIntervalMs = 30_000;

export interface ExporterRef {
  namespace: string;
  name: string;
  ip: string;
  port: number;
  nodeName?: string;
  /** How often it reads the GPUs, ms: values change no faster than this, however often scraped. */
  collectIntervalMs: number;
}

/** The interval in dcgm-exporter's arguments: -c 1000, -c=1000, --collect-interval[=]1000. */
function intervalArg(args: readonly string[]): number | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const inline = /^(?:-c|--collect-interval)=(\d+)$/.exec(arg);
    if (inline) return Number(inline[1]);
    const next = args[i + 1] ?? '';
    if ((arg === '-c' || arg === '--collect-interval') && /^\d+$/.test(next)) return Number(next);
  }
  return undefined;
}

/** ms: its arguments, else DCGM_EXPORTER_INTERVAL, else dcgm-exporter's default 30 000. */
function collectInterval(pod: V1Pod): number {
  const containers = pod.spec?.containers ?? [];
  const container =
    containers.find((c) => (c.ports ?? []).some((p) => p.containerPort === defaultExporterPort)) ??
    containers[0];
  const fromArgs = intervalArg([...(container?.command ?? []), ...(container?.args ?? [])]);
  if (fromArgs !== undefined) return fromArgs;
  const env = container?.env?.find((e) => e.name === 'DCGM_EXPORTER_INTERVAL')?.value;
  return env && /^\d+$/.test(env) ? Number(env) : defaultCollectIntervalMs;
}

/** An exporter pod that can be scraped now (Running with an IP), else undefined. */
export function exporterFromPod(pod: V1Pod): ExporterRef | undefined {
  const ip = pod.status?.podIP;
  if (!ip || pod.status?.phase !== 'Running' || !pod.metadata?.name) return undefined;
  const ports = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
  const port = ports.find((p) => p.name === 'metrics')?.containerPort ?? defaultExporterPort;
  return {
    namespace: pod.metadata.namespace ?? '',
    name: pod.metadata.name,
    ip,
    port,
    ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
    collectIntervalMs: collectInterval(pod),
  };
}

/** One GPU as one exporter reports it (a shared GPU appears once per holder). */
export interface Gpu {
  /** `namespace/pod` of the holder; undefined when the series name none. */
  holder?: string;
  /** The holder came from exported_pod/exported_namespace. */
  renamed: boolean;
  /** Percent 0..100; undefined when it serves neither GPU_UTIL nor PROF_GR_ENGINE_ACTIVE. */
  utilPercent?: number;
  /** GPU_UTIL was absent: utilPercent is GR_ENGINE_ACTIVE x 100. */
  fromEngineActive: boolean;
  usedMiB?: number;
  freeMiB?: number;
}

function holderOf(labels: Record<string, string>): { holder?: string; renamed: boolean } {
  const exportedPod = labels[`exported_${dcgmLabels.pod}`];
  const exportedNs = labels[`exported_${dcgmLabels.namespace}`];
  if (exportedPod && exportedNs)
    return { holder: keyOf({ namespace: exportedNs, name: exportedPod }), renamed: true };
  const pod = labels[dcgmLabels.pod];
  const ns = labels[dcgmLabels.namespace];
  return pod && ns
    ? { holder: keyOf({ namespace: ns, name: pod }), renamed: false }
    : { renamed: false };
}

function gpuId(labels: Record<string, string>): string {
  const card =
    labels[dcgmLabels.uuid] ?? `${labels[dcgmLabels.hostname]}:${labels[dcgmLabels.gpu]}`;
  const { holder } = holderOf(labels);
  return `${card}|${holder ?? ''}`;
}

/** Every GPU series of one exporter's body, joined across its metrics by GPU and holder. */
export function gpusOf(metrics: TextMetrics): Gpu[] {
  const gpus = new Map<string, Gpu>();
  const field = (metric: string, set: (g: Gpu, v: number) => void) => {
    for (const s of metrics.get(metric) ?? []) {
      const id = gpuId(s.labels);
      let gpu = gpus.get(id);
      if (!gpu) {
        gpu = { ...holderOf(s.labels), fromEngineActive: false };
        gpus.set(id, gpu);
      }
      set(gpu, s.value);
    }
  };
  field(dcgmMetrics.grEngineActive, (g, v) => {
    g.utilPercent = v * 100;
    g.fromEngineActive = true;
  });
  // After the fallback: GPU_UTIL wins where a GPU has both.
  field(dcgmMetrics.gpuUtil, (g, v) => {
    g.utilPercent = v;
    g.fromEngineActive = false;
  });
  field(dcgmMetrics.fbUsed, (g, v) => (g.usedMiB = v));
  field(dcgmMetrics.fbFree, (g, v) => (g.freeMiB = v));
  return [...gpus.values()];
}
