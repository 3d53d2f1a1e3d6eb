import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cacheDir } from './paths.ts';
import { killGroup, pidAlive } from './process.ts';

/** What a running cluster leaves on disk so a later run can find (and clean up) its processes. */
export interface ClusterState {
  name: string;
  kubeconfig: string;
  server: string;
  /** The Node process that started it; a non-persistent cluster whose owner died is stale. */
  ownerPid: number;
  persist: boolean;
  pids: Record<string, number>;
}

export function writeState(dir: string, state: ClusterState): void {
  const file = path.join(dir, 'state.json');
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
  fs.renameSync(`${file}.tmp`, file);
}

export function readState(dir: string): ClusterState | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

/**
 * A recorded pid is ours only if its command line (components) or environment (the pod
 * runner's processes: ZIMAGE_POD_ROOT lies in the cluster folder) still mentions the cluster
 * folder: pids are reused, and killing a stranger's process would be far worse than leaving
 * an orphan.
 */
function ownedBy(pid: number, dir: string): boolean {
  for (const file of ['cmdline', 'environ']) {
    try {
      if (fs.readFileSync(`/proc/${pid}/${file}`, 'utf8').includes(dir)) return true;
    } catch {
      // Gone, or not ours to read.
    }
  }
  return false;
}

/** Pids of every process the pod runner started (dev/fleet/runner.ts keeps it current). */
export const runnerPidsFile = 'pod-runner-pids.json';

/** Processes the pod runner started. */
function runnerPids(dir: string): [string, number][] {
  try {
    const pids = JSON.parse(fs.readFileSync(path.join(dir, runnerPidsFile), 'utf8')) as number[];
    return pids.map((pid) => ["a pod's process", pid]);
  } catch {
    return [];
  }
}

/**
 * Stop the processes recorded for the cluster in `dir` (a `cluster:up` cluster, or what a
 * killed run left): SIGTERM, then SIGKILL after 5 s. Returns how many were running.
 */
export async function cleanupStale(
  dir: string,
  log: (line: string) => void = () => {},
): Promise<number> {
  const state = readState(dir);
  if (!state) return 0;
  // Pod processes die with the runner (PDEATHSIG); these are for a runner that could not.
  const running = [...Object.entries(state.pids), ...runnerPids(dir).reverse()].filter(
    ([, pid]) => pidAlive(pid) && ownedBy(pid, dir),
  );
  // Reverse start order: kwok and the controllers go before the API server and etcd.
  for (const [name, pid] of running.reverse()) {
    log(`  stopping ${name} (pid ${pid})`);
    killGroup(pid, 'SIGTERM');
  }
  for (let i = 0; i < 50 && running.some(([, pid]) => pidAlive(pid)); i++) await sleep(100);
  for (const [, pid] of running) if (pidAlive(pid)) killGroup(pid, 'SIGKILL');
  for (let i = 0; i < 20 && running.some(([, pid]) => pidAlive(pid)); i++) await sleep(100);
  fs.rmSync(path.join(dir, 'state.json'), { force: true });
  fs.rmSync(path.join(dir, runnerPidsFile), { force: true });
  return running.length;
}

/**
 * Clean up every non-persistent cluster whose owning process is gone (a test run that was
 * SIGKILLed), and the folders of clusters that were stopped. Persistent ones (`cluster:up`)
 * are left to `cluster:down`.
 */
export async function cleanupOrphanedClusters(
  log: (line: string) => void = () => {},
): Promise<void> {
  const root = path.join(cacheDir(), 'clusters');
  if (!fs.existsSync(root)) return;
  for (const name of fs.readdirSync(root)) {
    const dir = path.join(root, name);
    const state = readState(dir);
    if (state && !state.persist && !pidAlive(state.ownerPid)) {
      await cleanupStale(dir, log);
      fs.rmSync(dir, { recursive: true, force: true });
    } else if (!state && name !== 'local') {
      // A cluster that was stopped cleanly: its logs were kept for one post-mortem until now.
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}
