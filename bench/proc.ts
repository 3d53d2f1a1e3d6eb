/**
 * What /proc says about a set of processes and their descendants: resident memory (RSS, and
 * PSS, which splits shared pages such as Node's own text among the processes that map them, so
 * that a sum over 20 Node processes does not count the binary 20 times) and CPU time.
 */
import fs from 'node:fs';

const read = (file: string) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

/** Every live pid with its parent, from /proc/<pid>/stat (field 4, after the comm in parens). */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = read(`/proc/${entry}/stat`);
    const ppid = stat ? Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) : NaN;
    if (Number.isFinite(ppid)) out.set(Number(entry), ppid);
  }
  return out;
}

/** `roots` and all their live descendants. */
export function withDescendants(roots: readonly number[]): number[] {
  const tree = parents();
  const all = new Set(roots.filter((p) => tree.has(p)));
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of tree) {
      if (all.has(ppid) && !all.has(pid)) {
        all.add(pid);
        grew = true;
      }
    }
  }
  return [...all];
}

const kbField = (text: string | undefined, field: string) =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text ?? '')?.[1] ?? 0);

/** RSS and PSS in MiB of the processes (0 for one that is gone). */
export function memoryMiB(pids: readonly number[]): { rss: number; pss: number } {
  let rss = 0;
  let pss = 0;
  for (const pid of pids) {
    rss += kbField(read(`/proc/${pid}/status`), 'VmRSS');
    pss += kbField(read(`/proc/${pid}/smaps_rollup`), 'Pss');
  }
  return { rss: rss / 1024, pss: pss / 1024 };
}

/** User + system CPU seconds of the processes so far (clock ticks of 1/100 s on Linux). */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = read(`/proc/${pid}/stat`);
    if (!stat) continue;
    // Fields after the comm: state(3) ppid(4) ... utime(14) stime(15).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(rest[11]) + Number(rest[12]);
  }
  return ticks / 100;
}

/** The command line of a process, arguments joined by spaces. */
export function commandLine(pid: number): string {
  return (read(`/proc/${pid}/cmdline`) ?? '').split('\0').join(' ');
}

/** MemTotal and MemAvailable in GiB. */
export function machineMemoryGiB(): { total: number; available: number } {
  const info = read('/proc/meminfo');
  return {
    total: kbField(info, 'MemTotal') / 2 ** 20,
    available: kbField(info, 'MemAvailable') / 2 ** 20,
  };
}
