import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { get, ok } from './http.ts';
import { freePorts } from './ports.ts';
import { spawnManaged, waitFor } from './process.ts';

/** Scrape targets by job name; each job gets its own file_sd file. */
export type Targets = Record<string, { targets: string[]; labels?: Record<string, string> }[]>;

export interface StartPrometheusOptions {
  targets?: Targets;
  /** Rule files to load (alerting or recording rules). */
  ruleFiles?: string[];
  /** Scrape and rule evaluation interval. Default 1s, so a `for: 5s` rule sees 5 samples. */
  interval?: string;
  /** Where config, file_sd files, data and log go. Default: a fresh temp folder. */
  dir?: string;
  /** More scrape configs as Prometheus takes them (e.g. kubernetes_sd_configs jobs). */
  scrapeConfigs?: Record<string, unknown>[];
  /**
   * The server binary. Default: Debian's `prometheus` (2.42, no Kubernetes SD); the local
   * fleet passes the one built from the Go module proxy (dev/tools.ts, with Kubernetes SD).
   */
  binary?: string;
  /** Keep running after this Node process exits (`cluster:up`, the demo). */
  persist?: boolean;
}

export interface PrometheusInstance {
  url: string;
  dir: string;
  pid: number;
  /** Rewrite a job's file_sd file; Prometheus watches it and picks the change up within ~1 s. */
  setTargets(job: string, groups: Targets[string]): void;
  /** Instant query; returns the result vector. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  stop(): Promise<void>;
}

/** Run the real Prometheus server (Debian's package) with a generated configuration. */
export async function startPrometheus(
  options: StartPrometheusOptions = {},
): Promise<PrometheusInstance> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'zimage-prom-'));
  fs.mkdirSync(path.join(dir, 'sd'), { recursive: true });
  const interval = options.interval ?? '1s';
  const targets = options.targets ?? {};
  const sdFile = (job: string) => path.join(dir, 'sd', `${job}.json`);
  const setTargets = (job: string, groups: Targets[string]) => {
    // Write then rename: Prometheus must never read a half-written file.
    fs.writeFileSync(`${sdFile(job)}.tmp`, JSON.stringify(groups));
    fs.renameSync(`${sdFile(job)}.tmp`, sdFile(job));
  };
  for (const [job, groups] of Object.entries(targets)) setTargets(job, groups);

  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: [
      ...Object.keys(targets).map((job) => ({
        job_name: job,
        file_sd_configs: [{ files: [sdFile(job)], refresh_interval: '1s' }],
      })),
      ...(options.scrapeConfigs ?? []),
    ],
  };
  const configPath = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(configPath, stringify(config));

  const [port] = await freePorts(1);
  const url = `http://127.0.0.1:${port}`;
  const proc = spawnManaged(
    'prometheus',
    options.binary ?? 'prometheus',
    [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
      '--log.level=warn',
    ],
    { logPath: path.join(dir, 'prometheus.log'), persist: options.persist ?? false },
  );
  await waitFor('prometheus ready', () => ok(`${url}/-/ready`), { timeoutMs: 30_000, proc });

  return {
    url,
    dir,
    pid: proc.pid,
    setTargets,
    async query(promql) {
      const res = await get(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = JSON.parse(res.body) as {
        status: string;
        error?: string;
        data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error}`);
      return body.data?.result ?? [];
    },
    async stop() {
      await proc.stop();
      if (ownDir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
