/**
 * `npm run bench -- --only sim-long`: the simulator on a 23-day trace (issue 19: "a 23-day
 * trace runs in well under a minute and 1 GiB"). builtin:daily-bursts repeated for 552 h on the
 * defaults example (H100, 1..8 replicas: ~6.5M requests) is written to a temporary CSV with
 * `npm run simulate -- --write-trace`, then `npm run simulate` reads it back once per
 * controller, and once with all of them, each in a process of its own: wall and CPU seconds,
 * and the process's peak RSS (getrusage's maxrss, as /usr/bin/time -v reports it).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Row } from './cluster.ts';

const run = promisify(execFile);
const root = path.join(import.meta.dirname, '..');
const zid = 'deploy/examples/autoscaling-defaults.yaml';

/** One `npm run simulate` in a child that reports its own time and peak memory. */
async function measured(args: string[]) {
  const script = `
    const { simulation } = await import(${JSON.stringify(path.join(root, 'scripts/simulate.ts'))});
    const { writeTraceFile } = await import(${JSON.stringify(path.join(root, 'src/sim/trace-csv.ts'))});
    const started = performance.now();
    const sim = simulation(${JSON.stringify(args)}, (trace, a) => {
      if (a.writeTrace) writeTraceFile(a.writeTrace, trace);
    });
    const usage = process.resourceUsage();
    console.log(JSON.stringify({
      seconds: (performance.now() - started) / 1000,
      cpu: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
      maxRssMiB: usage.maxRSS / 1024,
      requests: sim.trace.length,
      rows: sim.runs.length,
    }));`;
  // As `npm run simulate` runs: a larger young generation, fewer scavenges (~15% less CPU).
  const node = ['--max-semi-space-size=32', '--input-type=module', '-e', script];
  const { stdout } = await run(process.execPath, node, {
    cwd: root,
    maxBuffer: 1 << 24,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    seconds: number;
    cpu: number;
    maxRssMiB: number;
    requests: number;
    rows: number;
  };
}

const row = (name: string, m: Awaited<ReturnType<typeof measured>>, what: string): Row => ({
  name,
  value: `${m.seconds.toFixed(1)} s, ${Math.round(m.maxRssMiB)} MiB`,
  detail: `${what}: ${m.cpu.toFixed(1)} s CPU, peak RSS ${Math.round(m.maxRssMiB)} MiB, ${(m.requests / 1e6).toFixed(2)}M requests`,
});

export async function benchSimLong(): Promise<Row[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-long-'));
  const csv = path.join(dir, 'daily-bursts-23d.csv');
  const rows: Row[] = [];
  try {
    const base = ['--zid', zid, '--decisions', '0'];
    const write = ['--trace', 'builtin:daily-bursts', '--length', '552h', '--write-trace', csv];
    rows.push(
      row(
        'sim-long trace',
        await measured([...base, ...write, '--controllers', 'none']),
        'generate and write',
      ),
    );
    console.log(`sim-long: ${csv}, ${(fs.statSync(csv).size / 1e6).toFixed(0)} MB`);
    const each = [
      ['policy', ['--controllers', 'policy']],
      ['HPA gpu 50%', ['--controllers', 'hpa', '--hpa-target', '50']],
      ['KEDA', ['--controllers', 'keda']],
      ['Knative KPA', ['--controllers', 'kpa']],
      ['all (the default command)', []],
    ] as const;
    for (const [name, flags] of each) {
      const m = await measured([...base, '--trace', csv, ...flags]);
      rows.push(row(`sim-long ${name}`, m, `${m.rows} row(s), reading the CSV`));
      console.log(`sim-long ${name}: ${rows.at(-1)!.detail}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
