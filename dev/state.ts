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

/** Add a process started beside the cluster (the demo's operator, Prometheus) to its record. */
export function recordPid(dir: string, name: string, pid: number): void {
  const state = readState(dir);
  if (state) writeState(dir, { ...state, pids: { ...state.pids, [name]: pid } });
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

/** A process's NUL-separated /proc file as a list; [] when it is gone or not ours to read. */
function procList(pid: number, file: 'cmdline' | 'environ'): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Operators that run against the cluster in `dir` whoever started them: the demo records
 * its own, but one restarted by hand (`npm run operator` with the cluster's KUBECONFIG, or
 * `--kubeconfig` into its folder) has a pid nobody wrote down. Marker: a node process whose
 * script is src/operator/main.ts and whose kubeconfig lies in `dir` (an editor with main.ts
 * open and the variable exported is no node process running it).
 */
export function operatorsOf(dir: string): number[] {
  const inDir = (file: string) => file.startsWith(`${dir}${path.sep}`);
  return fs.readdirSync('/proc').flatMap((entry) => {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) return [];
    const [command = '', ...args] = procList(pid, 'cmdline');
    const script = args.some((a) => a.endsWith('src/operator/main.ts'));
    if (path.basename(command) !== 'node' || !script) return [];
    // --kubeconfig=FILE or --kubeconfig FILE (parseArgs takes both), else the variable.
    const at = args.indexOf('--kubeconfig');
    const flag = args.find((a) => a.startsWith('--kubeconfig='))?.slice('--kubeconfig='.length);
    const env = procList(pid, 'environ').find((e) => e.startsWith('KUBECONFIG='));
    const kubeconfig = flag ?? (at >= 0 ? args[at + 1] : env?.slice('KUBECONFIG='.length)) ?? '';
    return inDir(kubeconfig) ? [pid] : [];
  });
}

/**
 * Stop the processes recorded for the cluster in `dir` (a `cluster:up` cluster, or what a
 * killed run left) and every operator that runs against it: SIGTERM, then SIGKILL after 5 s.
 * Returns how many were running.
 */
export async function cleanupStale(
  dir: string,
  log: (line: string) => void = () => {},
): Promise<number> {
  const state = readState(dir);
  const recorded = Object.entries(state?.pids ?? {});
  const known = new Set(recorded.map(([, pid]) => pid));
  const operators = operatorsOf(dir)
    .filter((pid) => !known.has(pid))
    .map((pid) => ['zimage-operator (not recorded: started by hand?)', pid] as [string, number]);
  // Pod processes die with the runner (PDEATHSIG); these are for a runner that could not.
  const running = [
    ...recorded.filter(([, pid]) => ownedBy(pid, dir)),
    ...runnerPids(dir)
      .reverse()
      .filter(([, pid]) => ownedBy(pid, dir)),
    ...operators,
  ].filter(([, pid]) => pidAlive(pid));
  if (!state && running.length === 0) return 0;
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
