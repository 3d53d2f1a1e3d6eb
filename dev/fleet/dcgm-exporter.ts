/**
 * A dcgm-exporter stand-in for the local fleet's GPU nodes: `node dev/fleet/dcgm-exporter.ts`,
 * run by the pod runner for each pod of the dcgm-exporter DaemonSet. Flags and environment as
 * dcgm-exporter's own: `-c`/DCGM_EXPORTER_INTERVAL (collection interval in ms, default 30000),
 * `-a`/DCGM_EXPORTER_LISTEN (default ":9400"), `-k`/DCGM_EXPORTER_KUBERNETES (pod mapping).
 *
 * Each interval it reads the node's GPUs and their holders from where the pod-resources API
 * would be (the runner writes them under the hostPath /var/lib/kubelet/pod-resources), scrapes
 * each holder's runtime /metrics, and keeps the result; /metrics serves the last collection,
 * as dcgm-exporter does, so a 30 s interval really hides what happens between collections.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { podRootEnv } from '../../src/contract/labels.ts';
import { parseTextFormat } from '../../src/formats/prometheus-text.ts';
import { renderDcgm, type GpuReading } from './dcgm-metrics.ts';
import { GpuModel, snapshotOf, type RuntimeSnapshot } from './gpu-model.ts';
import type { GpuAssignment, NodeGpus } from './gpus.ts';

/** The runner's pod-resources file, relative to the hostPath mount. */
export const podResourcesDir = '/var/lib/kubelet/pod-resources';
export const podResourcesFile = 'gpus.json';
/** Set by the runner: the pod's own IP (it has no network namespace to bind ":9400" in). */
export const podIpEnv = 'ZIMAGE_POD_IP';

export interface ExporterOptions {
  intervalMs: number;
  host: string;
  port: number;
  kubernetes: boolean;
  file: string;
  hostname: string;
}

export function exporterOptions(argv: string[], env: NodeJS.ProcessEnv): ExporterOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      'collect-interval': { type: 'string', short: 'c' },
      address: { type: 'string', short: 'a' },
      kubernetes: { type: 'boolean', short: 'k' },
    },
    allowPositionals: false,
  });
  const intervalText = values['collect-interval'] ?? env['DCGM_EXPORTER_INTERVAL'] ?? '30000';
  const intervalMs = Number(intervalText);
  if (!Number.isInteger(intervalMs) || intervalMs < 100) {
    throw new Error(
      `-c/DCGM_EXPORTER_INTERVAL: "${intervalText}" is not a whole number >= 100 (ms)`,
    );
  }
  const address = values.address ?? env['DCGM_EXPORTER_LISTEN'] ?? ':9400';
  const match = /^(.*):(\d+)$/.exec(address);
  if (!match) throw new Error(`-a/DCGM_EXPORTER_LISTEN: "${address}" is not [host]:port`);
  return {
    intervalMs,
    host: match[1] || env[podIpEnv] || '127.0.0.1',
    port: Number(match[2]),
    kubernetes: values.kubernetes ?? env['DCGM_EXPORTER_KUBERNETES'] === 'true',
    file: path.join(env[podRootEnv] ?? '', podResourcesDir, podResourcesFile),
    hostname: env['NODE_NAME'] ?? os.hostname(),
  };
}

function readGpus(file: string): NodeGpus | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as NodeGpus;
  } catch {
    return undefined;
  }
}

async function scrape(url: string, timeoutMs: number): Promise<RuntimeSnapshot | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return undefined;
    return snapshotOf(parseTextFormat(await res.text()), performance.now());
  } catch {
    return undefined;
  }
}

export class Collector {
  private readonly models = new Map<string, { model: GpuModel; holder: string | undefined }>();
  private text = '';
  private readonly options: ExporterOptions;

  constructor(options: ExporterOptions) {
    this.options = options;
  }

  metrics(): string {
    return this.text;
  }

  async collect(): Promise<void> {
    const gpus = readGpus(this.options.file);
    const byIndex = new Map<number, GpuAssignment>(
      (gpus?.assignments ?? []).map((a) => [a.index, a]),
    );
    const timeout = Math.min(this.options.intervalMs, 2_000);
    const readings = await Promise.all(
      (gpus?.devices ?? []).map(async (device): Promise<GpuReading> => {
        const held = byIndex.get(device.index);
        let entry = this.models.get(device.uuid);
        if (!entry) {
          entry = { model: new GpuModel(device, this.options.hostname), holder: undefined };
          this.models.set(device.uuid, entry);
        }
        if (entry.holder !== held?.uid) entry.model.reset();
        entry.holder = held?.uid;
        const snapshot = held?.metricsUrl ? await scrape(held.metricsUrl, timeout) : undefined;
        const mapped = this.options.kubernetes ? held : undefined;
        return entry.model.read(performance.now(), mapped, snapshot);
      }),
    );
    this.text = renderDcgm(readings);
  }
}

async function main(): Promise<void> {
  let options: ExporterOptions;
  try {
    options = exporterOptions(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`dcgm-exporter: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const collector = new Collector(options);
  await collector.collect();
  const server = http.createServer((req, res) => {
    if (req.url === '/health') return res.end('OK');
    if (req.url !== '/metrics') return res.writeHead(404).end();
    res.setHeader('content-type', 'text/plain; version=0.0.4; charset=utf-8');
    res.end(collector.metrics());
  });
  server.listen(options.port, options.host);
  // One collection at a time: a slow holder delays the next collection rather than stacking.
  let collecting = false;
  const timer = setInterval(() => {
    if (collecting) return;
    collecting = true;
    void collector.collect().finally(() => (collecting = false));
  }, options.intervalMs);
  console.log(
    `dcgm-exporter stand-in on ${options.host}:${options.port}, collecting every ${options.intervalMs} ms from ${options.file}`,
  );
  const stop = () => {
    clearInterval(timer);
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (import.meta.main) await main();
