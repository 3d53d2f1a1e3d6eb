import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A long-running child (etcd, kube-apiserver, ...) with its output in a log file. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Resolves with the exit code (or null when killed by a signal) once the process is gone. */
  readonly exited: Promise<number | null>;
  /** True until the process has exited. */
  alive(): boolean;
  /** SIGTERM the process group, then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
  /** The last `lines` lines of its log, for error messages. */
  tail(lines?: number): string;
}

const live = new Set<ManagedProcess>();
let hooksInstalled = false;

/**
 * Kill every process this Node process started, synchronously. Used on exit and on Ctrl-C so
 * that a failed test or an interrupted `cluster:up` leaves no orphans; a SIGKILLed parent
 * leaves its pid file behind instead, which the next start cleans up (see cluster.ts).
 */
export function killAllSync(): void {
  for (const p of live) killGroup(p.pid, 'SIGKILL');
  live.clear();
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAllSync();
      // Re-raise so the default handling (exit code 128+n) still applies.
      process.kill(process.pid, signal);
    });
  }
}

/** Signal a whole process group (children were started as group leaders). */
export function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * Whether a pid is a live process. A zombie counts as dead: a killed grandchild is reparented
 * to PID 1, which in a container may never reap it, yet signal 0 still succeeds on it.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may hold spaces, so read after the last ')'.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export interface SpawnOptions {
  logPath: string;
  /** Keep running after this Node process exits (not killed by the exit hooks). */
  persist?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function spawnManaged(
  name: string,
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): ManagedProcess {
  installExitHooks();
  const log = fs.openSync(options.logPath, 'a');
  let child: ChildProcess;
  try {
    // detached: each component leads its own process group, so stop() reaches any helper
    // it forks, and a Ctrl-C meant for the parent does not kill it before teardown runs.
    child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', log, log],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
  } finally {
    fs.closeSync(log);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: could not start ${command}`);
  let running = true;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running = false;
      live.delete(proc);
      resolve(code);
    });
    child.once('error', () => {
      running = false;
      live.delete(proc);
      resolve(null);
    });
  });
  const proc: ManagedProcess = {
    name,
    pid,
    logPath: options.logPath,
    exited,
    alive: () => running,
    async stop(graceMs = 5_000) {
      if (!running) return;
      killGroup(pid, 'SIGTERM');
      const timedOut = await Promise.race([
        exited.then(() => false),
        sleep(graceMs).then(() => true),
      ]);
      if (timedOut) {
        killGroup(pid, 'SIGKILL');
        await exited;
      }
      // The group may hold helpers that outlived the leader.
      killGroup(pid, 'SIGKILL');
    },
    tail: (lines = 20) => tailFile(options.logPath, lines),
  };
  if (!options.persist) live.add(proc);
  else child.unref();
  return proc;
}

export function tailFile(file: string, lines = 20): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Poll `check` until it returns true. Fails early, with the log tail, when `proc` dies first.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  options: { timeoutMs: number; intervalMs?: number; proc?: ManagedProcess },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    if (options.proc && !options.proc.alive()) {
      throw new Error(
        `${what}: ${options.proc.name} exited before it was healthy. Last lines of ${options.proc.logPath}:\n${options.proc.tail()}`,
      );
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = options.proc
        ? `\nLast lines of ${options.proc.logPath}:\n${options.proc.tail()}`
        : '';
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`${what}: not ready after ${options.timeoutMs} ms${cause}${detail}`, {
        cause: lastError,
      });
    }
    await sleep(options.intervalMs ?? 100);
  }
}
