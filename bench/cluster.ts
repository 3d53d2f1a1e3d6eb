/**
 * Local cluster benchmarks: warm start-up time to a usable cluster (all fake GPU nodes Ready,
 * pods admissible) and the control plane's resident memory; optionally the cold build time of
 * every Go tool (fresh Go build and module caches).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCluster } from '../dev/cluster.ts';
import { buildTool, goTools, type GoToolName } from '../dev/tools.ts';

export interface Row {
  name: string;
  value: string;
  detail: string;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Resident set size of a process in MiB, from /proc. */
function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

export async function benchWarmStart(repeats: number): Promise<Row[]> {
  const seconds: number[] = [];
  const memory: number[] = [];
  let perComponent: Record<string, number> = {};
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    const cluster = await startCluster({ name: `bench-${process.pid}-${i}` });
    seconds.push((performance.now() - started) / 1000);
    // Let start-up transients (informer lists, cache warm-up) settle before measuring memory.
    await sleep(5_000);
    perComponent = Object.fromEntries(
      Object.entries(cluster.pids()).map(([name, pid]) => [name, Math.round(rssMiB(pid))]),
    );
    memory.push(Object.values(perComponent).reduce((a, b) => a + b, 0));
    await cluster.stop();
  }
  return [
    {
      name: 'warm start to usable cluster (7 nodes, 34 GPUs)',
      value: `${median(seconds).toFixed(1)} s`,
      detail: `median of ${repeats}; runs: ${seconds.map((s) => s.toFixed(1)).join(', ')} s`,
    },
    {
      name: 'control plane memory (RSS, idle after start)',
      value: `${Math.round(median(memory))} MiB`,
      detail: Object.entries(perComponent)
        .map(([n, m]) => `${n} ${m}`)
        .join(', '),
    },
  ];
}

/** Cold build: every tool from an empty Go build cache and module cache. */
export async function benchColdBuild(): Promise<Row[]> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zimage-cold-'));
  const saved = { ...process.env };
  Object.assign(process.env, {
    GOCACHE: path.join(tmp, 'gocache'),
    GOMODCACHE: path.join(tmp, 'gomod'),
    ZIMAGE_CACHE_DIR: path.join(tmp, 'cache'),
  });
  const rows: Row[] = [];
  try {
    for (const tool of Object.keys(goTools) as GoToolName[]) {
      const { seconds } = await buildTool(tool, (line) => console.log(line));
      rows.push({
        name: `cold build: ${tool}`,
        value: `${seconds} s`,
        detail: 'download + compile',
      });
    }
  } finally {
    process.env = saved;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return rows;
}
