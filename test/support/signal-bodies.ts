/**
 * Real-shaped bodies for the signal sources' tests, served from 127.0.0.1: runtime /metrics
 * rendered by the runtime's own metrics module (the operator never imports it; tests may),
 * dcgm-exporter bodies with NVIDIA's names and labels (with DCGM_EXPORTER_KUBERNETES=true:
 * pod, namespace, container; or renamed to exported_*), and Prometheus API JSON.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dcgmMetrics } from '../../src/contract/metrics.ts';
import { createRouterMetrics } from '../../src/router/metrics.ts';
import { createRuntimeMetrics } from '../../src/runtime/metrics.ts';
import { parseKey } from '../../src/contract/object-key.ts';

export interface LocalServer {
  url: string;
  port: number;
  /** Requests answered or held so far. */
  requests: number;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

/** An HTTP server on 127.0.0.1 and a free port; a handler that never answers holds the request. */
export async function localServer(handler: Handler): Promise<LocalServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      out.requests++;
      handler(req, Buffer.concat(chunks).toString('utf8'), res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const out: LocalServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: 0,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return out;
}

/** A port on 127.0.0.1 where nothing listens (bound, then closed). */
export async function closedPort(): Promise<number> {
  const s = await localServer(() => undefined);
  await s.close();
  return s.port;
}

/** What one runtime pod has done, rendered through the runtime's real Registry. */
export interface RuntimeState {
  /** Seconds of each generation so far (cumulative: the histogram only grows). */
  generations?: number[];
  queueDepth?: number;
  inflight?: number;
  /** Seconds of each request from arrival to answer (queue included), cumulative. */
  requests?: number[];
}

export async function runtimeBody(state: RuntimeState): Promise<string> {
  const metrics = createRuntimeMetrics();
  for (const s of state.generations ?? []) metrics.generationDuration.observe(s);
  for (const s of state.requests ?? []) metrics.requestDuration.observe(s);
  if (state.queueDepth !== undefined) metrics.queueDepth.set(state.queueDepth);
  if (state.inflight !== undefined) metrics.inflight.set(state.inflight);
  return metrics.registry.metrics();
}

/** What a router's /metrics says; counters and histograms cumulative. */
export interface RouterState {
  /** The client's wait of each image so far, seconds. */
  waits?: number[];
  arrivedImages?: number;
  queuedImages?: number;
  queuedWork?: number;
  /** zimage_router_arrived_work_seconds_total. */
  arrivedWork?: number;
}

/** A router's /metrics as its own Registry renders it (src/router/metrics.ts). */
export async function routerBody(state: RouterState): Promise<string> {
  const metrics = createRouterMetrics();
  for (const s of state.waits ?? []) metrics.wait.observe(s);
  if (state.arrivedImages) metrics.arrivedImages.inc(state.arrivedImages);
  if (state.arrivedWork) metrics.arrivedWork.inc(state.arrivedWork);
  if (state.queuedImages !== undefined) metrics.queuedImages.set(state.queuedImages);
  if (state.queuedWork !== undefined) metrics.queuedWork.set(state.queuedWork);
  return metrics.registry.metrics();
}

export interface DcgmGpu {
  gpu: number;
  /** `namespace/pod` holding it; undefined: a GPU no pod holds (or labels off). */
  holder?: string;
  /** Write the holder as exported_pod/exported_namespace (and pod= the exporter itself). */
  renamed?: boolean;
  util?: number;
  /** PROF_GR_ENGINE_ACTIVE, ratio 0..1 (consumer GPUs and MIG lack one or the other). */
  engineActive?: number;
  usedMiB?: number;
  freeMiB?: number;
  node?: string;
}

function dcgmLabels(g: DcgmGpu): string {
  const labels: Record<string, string> = {
    gpu: String(g.gpu),
    UUID: `GPU-5fd4f087-86f3-7a43-b711-4771313afc5${g.gpu}`,
    pci_bus_id: `00000000:1${g.gpu}:00.0`,
    device: `nvidia${g.gpu}`,
    modelName: 'NVIDIA H100 80GB HBM3',
    Hostname: g.node ?? 'gpu-node-1',
    DCGM_FI_DRIVER_VERSION: '570.124.06',
  };
  if (g.holder) {
    const { namespace, name: pod } = parseKey(g.holder);
    if (g.renamed) {
      Object.assign(labels, {
        exported_container: 'runtime',
        exported_namespace: namespace,
        exported_pod: pod,
        container: 'exporter',
        namespace: 'gpu-operator',
        pod: 'nvidia-dcgm-exporter-7xk2p',
      });
    } else Object.assign(labels, { container: 'runtime', namespace, pod });
  }
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
}

/** A dcgm-exporter body as it renders one (HELP/TYPE per field, gauges, its label order). */
export function dcgmBody(gpus: readonly DcgmGpu[]): string {
  const fields: [string, string, (g: DcgmGpu) => number | undefined][] = [
    [dcgmMetrics.gpuUtil, 'GPU utilization (in %).', (g) => g.util],
    [dcgmMetrics.fbFree, 'Framebuffer memory free (in MiB).', (g) => g.freeMiB],
    [dcgmMetrics.fbUsed, 'Framebuffer memory used (in MiB).', (g) => g.usedMiB],
    [
      dcgmMetrics.grEngineActive,
      'Ratio of time the graphics engine is active.',
      (g) => g.engineActive,
    ],
  ];
  const lines: string[] = [];
  for (const [name, help, value] of fields) {
    const present = gpus.filter((g) => value(g) !== undefined);
    if (present.length === 0) continue;
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const g of present) lines.push(`${name}{${dcgmLabels(g)}} ${value(g)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A Prometheus API vector answer; values as Prometheus writes them ("NaN", "+Inf", "0.5"). */
export function vector(
  series: readonly { labels: Record<string, string>; value: string }[],
  at = 1_767_225_600,
): string {
  return JSON.stringify({
    status: 'success',
    data: {
      resultType: 'vector',
      result: series.map((s) => ({ metric: s.labels, value: [at, s.value] })),
    },
  });
}

/** One series per object, labelled as the signal queries group (namespace, zimage_deployment). */
export function perKey(
  values: Record<string, string>,
): { labels: Record<string, string>; value: string }[] {
  return Object.entries(values).map(([key, value]) => {
    const { namespace, name } = parseKey(key);
    return { labels: { namespace, zimage_deployment: name }, value };
  });
}
