/**
 * Input series for `promtool test rules`, shaped as a real cluster writes them: runtime targets
 * labelled by the operator's own ServiceMonitor relabelings, dcgm-exporter series with NVIDIA's
 * names and labels, and the runtime's generation histogram with its real bucket bounds.
 */
import { execFileSync } from 'node:child_process';
import { buildServiceMonitor } from '../../src/operator/builders/monitoring.ts';
import { selectorLabels } from '../../src/operator/api/v1alpha1/names.ts';
import type { ZImageDeployment } from '../../src/operator/api/v1alpha1/types.ts';
import { createRuntimeMetrics } from '../../src/runtime/metrics.ts';

export interface InputSeries {
  series: string;
  values: string;
}

export interface Pod {
  namespace: string;
  name: string;
  /** The ZImageDeployment that owns it (its pod template's instance label). */
  owner: string;
}

function series(metric: string, labels: Record<string, string>, values: string): InputSeries {
  const body = Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');
  return { series: `${metric}{${body}}`, values };
}

interface Relabeling {
  action: string;
  sourceLabels: string[];
  targetLabel: string;
}

/**
 * Target labels of a runtime pod: what the Prometheus Operator adds to every ServiceMonitor
 * target (namespace, service, pod, container, endpoint, job), then the ServiceMonitor's own
 * relabelings applied to the pod's service-discovery meta labels (action replace, default
 * regex (.*): the joined source values, an empty value drops the label).
 */
export function targetLabels(owner: ZImageDeployment, pod: Pod): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const [key, value] of Object.entries(selectorLabels(pod.owner))) {
    meta[`__meta_kubernetes_pod_label_${key.replace(/[^a-zA-Z0-9_]/g, '_')}`] = value;
  }
  const labels: Record<string, string> = {
    container: 'runtime',
    endpoint: 'http',
    instance: '127.1.0.10:8080',
    job: pod.owner,
    namespace: pod.namespace,
    pod: pod.name,
    service: pod.owner,
  };
  const endpoints = buildServiceMonitor(owner).spec['endpoints'] as {
    relabelings?: Relabeling[];
  }[];
  for (const r of endpoints[0]?.relabelings ?? []) {
    if (r.action !== 'replace') throw new Error(`relabel action ${r.action} not modelled here`);
    const value = r.sourceLabels.map((l) => meta[l] ?? '').join(';');
    if (value === '') delete labels[r.targetLabel];
    else labels[r.targetLabel] = value;
  }
  return labels;
}

/** A series the runtime pod exposes (or `up`), with its target labels. */
export function runtimeSeries(
  owner: ZImageDeployment,
  pod: Pod,
  metric: string,
  values: string,
): InputSeries {
  return series(metric, targetLabels(owner, pod), values);
}

/** `up` of a runtime pod: the target Prometheus scrapes, 1 for the whole test. */
export function upSeries(owner: ZImageDeployment, pod: Pod, samples: number): InputSeries {
  return runtimeSeries(owner, pod, 'up', `1x${samples}`);
}

/** A GPU of dcgm-exporter (DCGM_EXPORTER_KUBERNETES=true) attributed to a pod. */
export function dcgmSeries(
  metric: string,
  pod: Pod,
  values: string,
  gpu = 0,
  card = 'NVIDIA H100 80GB HBM3',
): InputSeries {
  return series(
    metric,
    {
      gpu: String(gpu),
      UUID: `GPU-5fd4f087-86f3-7a43-b711-4771313afc5${gpu}`,
      device: `nvidia${gpu}`,
      modelName: card,
      Hostname: 'gpu-node-1',
      pci_bus_id: `00000000:1${gpu}:00.0`,
      container: 'runtime',
      namespace: pod.namespace,
      pod: pod.name,
      // The exporter's own target labels (honorLabels keeps pod and namespace above).
      instance: '127.1.0.20:9400',
      job: 'nvidia-dcgm-exporter',
    },
    values,
  );
}

/** A prom-client histogram, for its real bucket bounds. */
interface HistogramLike {
  get(): Promise<{
    name: string;
    values: { metricName?: string; labels: Record<string, unknown> }[];
  }>;
}

/**
 * A histogram on a pod observing once per second, each observation `seconds` (undefined:
 * none at all), with the bucket bounds the metric really has.
 */
export async function histogramSeries(
  histogram: HistogramLike,
  owner: ZImageDeployment,
  pod: Pod,
  seconds: number | undefined,
  samples: number,
): Promise<InputSeries[]> {
  const { name, values } = await histogram.get();
  const bounds = values
    .filter((v) => v.metricName === `${name}_bucket`)
    .map((v) => String(v.labels['le']));
  const target = targetLabels(owner, pod);
  return bounds.map((le) => {
    const inBucket = seconds !== undefined && (le === '+Inf' || seconds <= Number(le));
    return series(`${name}_bucket`, { ...target, le }, `0+${inBucket ? 1 : 0}x${samples}`);
  });
}

/**
 * The runtime's generation histogram on a pod serving one image per second, each taking
 * `seconds` (undefined: no images at all), with the bucket bounds the runtime really has.
 */
export function generationSeries(
  owner: ZImageDeployment,
  pod: Pod,
  seconds: number | undefined,
  samples: number,
): Promise<InputSeries[]> {
  return histogramSeries(createRuntimeMetrics().generationDuration, owner, pod, seconds, samples);
}

/** Runs promtool; returns its output, throws with it (stdout and stderr) on failure. */
export function promtool(args: string[], cwd: string): string {
  try {
    return execFileSync('promtool', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    const output = `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`;
    throw new Error(`promtool ${args.join(' ')} failed:\n${output}`, { cause: err });
  }
}
