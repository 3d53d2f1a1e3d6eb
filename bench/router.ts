/**
 * Router overhead (issue 18), all over loopback, in one run:
 * - added latency: the same single-image request sent to a pod directly and through the router
 *   in front of that pod, one at a time, the order rotated each round (http-load.ts
 *   interleaved); goals: the router's p50 at most 1 ms and its p99 at most 5 ms above the
 *   direct ones. Warm-up rounds first (not kept), then `repeats` blocks of `rounds` rounds on
 *   the same warm processes; each block gives its own added p50 and p99, and a row reports
 *   their median and range (one noisy stretch of the shared host moves one block, not the
 *   figure), beside the p99 of all blocks' requests pooled. Backends: stub pods (stub-pod.ts:
 *   no work, a real answer's size, so the difference is the router's own cost) and the real
 *   runtime over the fake pipeline at 1 step (20 ms of work, a small body);
 * - requests/s per core: the router in front of 8 stub pods, kept saturated by a closed loop of
 *   16 clients (8 images on pods, 8 waiting in the router's queue); requests per CPU-second of
 *   the router process (/proc utime + stime), per measured window after a warm-up, median of
 *   the windows.
 *
 * Before/after in one run: with ZIMAGE_BENCH_BASELINE_ROUTER=<another checkout> (its own
 * node_modules), that checkout's router runs beside this one's, in front of the same pods: a
 * third side in every latency round, and windows alternating with this one's for throughput.
 * E.g. `git worktree add /tmp/base main && ln -s $PWD/node_modules /tmp/base/` first.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from '../dev/ports.ts';
import { spawnManaged, waitFor, type ManagedProcess } from '../dev/process.ts';
import { startRouter, type RouterProcess } from '../dev/router-process.ts';
import { fakePipelineEnv, projectNode, startRuntime } from '../dev/runtime-process.ts';
import type { Row } from './cluster.ts';
import { closedLoop, interleaved, percentile, target, type Rounds } from './http-load.ts';
import { cpuSeconds } from './proc.ts';

/** Counts per comparison: ~1-3 ms per stub request, ~25 ms per fake-runtime request. */
const latencyRun = { warmup: 200, rounds: 1_000, repeats: 5 };
const runtimeRun = { warmup: 50, rounds: 400, repeats: 3 };
type Counts = typeof latencyRun;
const throughputRun = { pods: 8, concurrency: 16, warmupMs: 3_000, windowMs: 5_000, windows: 3 };
const goals = { p50: 1, p99: 5 };
const quiet = { ZIMAGE_LOG_LEVEL: 'warn' };
const baselineRoot = process.env['ZIMAGE_BENCH_BASELINE_ROUTER'] || undefined;

export async function benchRouter(): Promise<Row[]> {
  const rows: Row[] = [];
  // 1024 and 512 px: real answer sizes; 64 px (5 KB): the per-request cost without the bytes.
  for (const px of [1024, 512, 64]) rows.push(await latencyOverStub(px));
  rows.push(await latencyOverFakeRuntime());
  for (const px of [1024, 64]) rows.push(await throughput(px));
  return rows;
}

interface Stubs {
  urls: string[];
  proc: ManagedProcess;
  answerBytes: number;
}

async function startStubs(px: number, count: number): Promise<Stubs> {
  const ports = await freePorts(count);
  const logPath = path.join(mkdtempSync(path.join(os.tmpdir(), 'zimage-stub-')), 'stub.log');
  const script = path.join(import.meta.dirname, 'stub-pod.ts');
  const proc = spawnManaged('stub-pods', projectNode, [script, String(px), ports.join(',')], {
    logPath,
  });
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  for (const url of urls) {
    await waitFor(
      'stub pod',
      async () => (await fetch(`${url}/readyz`).catch(() => null))?.ok === true,
      {
        timeoutMs: 15_000,
        intervalMs: 50,
        proc,
      },
    );
  }
  const answerBytes = Number(/(\d+) bytes per answer/.exec(proc.tail())?.[1] ?? NaN);
  return { urls, proc, answerBytes };
}

const request = (px: number, steps?: number) => (i: number) =>
  JSON.stringify({ prompt: 'a red fox in the snow', size: `${px}x${px}`, seed: 1_000 + i, steps });

/** This checkout's router, and the baseline checkout's where one is named. */
interface Routers {
  router: RouterProcess;
  baseline: RouterProcess | undefined;
}

async function withRouters<T>(pods: string[], run: (routers: Routers) => Promise<T>): Promise<T> {
  const router = await startRouter(pods, quiet);
  let baseline: RouterProcess | undefined;
  try {
    if (baselineRoot) baseline = await startRouter(pods, quiet, baselineRoot);
    return await run({ router, baseline });
  } finally {
    // Killed, not drained: a drain waits its 5 s delay (router.ts), and nothing is in flight.
    await router.stop(0);
    await baseline?.stop(0);
  }
}

/** The baseline's name in a row: its directory and commit. */
function baselineName(): string {
  const root = baselineRoot ?? '';
  try {
    const commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
    }).trim();
    return `${path.basename(root)} at ${commit}`;
  } catch {
    return path.basename(root);
  }
}

interface Comparison {
  /** One block per repeat: timings of direct, router and (where named) baseline. */
  blocks: Rounds[];
  /** Each router process's CPU ms per request it served (warm-up included). */
  cpuMs: Record<string, number>;
}

/** Rounds to `pod` directly and through the router(s) in front of it alone. */
function compare(pod: string, body: (i: number) => string, counts: Counts): Promise<Comparison> {
  return withRouters([pod], async ({ router, baseline }) => {
    const routers = { router, ...(baseline ? { baseline } : {}) };
    const procs = Object.entries(routers);
    const cpu0 = procs.map(([, r]) => cpuSeconds([r.proc.pid]));
    const targets = [target('direct', pod), ...procs.map(([name, r]) => target(name, r.url))];
    const blocks: Rounds[] = [];
    for (let r = 0; r < counts.repeats; r++) {
      const warmup = r === 0 ? counts.warmup : 0;
      const offset = r * counts.rounds;
      blocks.push(await interleaved(targets, (i) => body(offset + i), { ...counts, warmup }));
    }
    await Promise.all(targets.map((t) => t.agent.close()));
    const served = counts.warmup + counts.rounds * counts.repeats;
    const cpuMs = Object.fromEntries(
      procs.map(([name, r], i) => [name, ((cpuSeconds([r.proc.pid]) - cpu0[i]!) * 1000) / served]),
    );
    return { blocks, cpuMs };
  });
}

async function latencyOverStub(px: number): Promise<Row> {
  const stubs = await startStubs(px, 1);
  try {
    const result = await compare(stubs.urls[0]!, request(px), latencyRun);
    const mb = (stubs.answerBytes / 1e6).toFixed(2);
    return latencyRow(`stub pod, ${px}px answer (${mb} MB)`, result, latencyRun);
  } finally {
    await stubs.proc.stop();
  }
}

async function latencyOverFakeRuntime(): Promise<Row> {
  const pod = await startRuntime({ env: { ...fakePipelineEnv, ...quiet } });
  try {
    const result = await compare(pod.url, request(1024, 1), runtimeRun);
    return latencyRow('runtime, fake pipeline, 1 step (20 ms)', result, runtimeRun);
  } finally {
    await pod.stop();
  }
}

const median = (xs: readonly number[]) => percentile(xs, 0.5);

const f = (ms: number) => ms.toFixed(2);
const range = (xs: number[]) => `${f(Math.min(...xs))}..${f(Math.max(...xs))}`;

/** A router's added latency over direct, per block and pooled. */
function added(blocks: Rounds[], name: string) {
  const p = percentile;
  const per = blocks.map((b) => ({
    p50: p(b[name]!, 0.5) - p(b['direct']!, 0.5),
    p99: p(b[name]!, 0.99) - p(b['direct']!, 0.99),
  }));
  const all = (key: string) => blocks.flatMap((b) => b[key]!);
  return {
    p50: median(per.map((b) => b.p50)),
    p99: median(per.map((b) => b.p99)),
    p50s: per.map((b) => b.p50),
    p99s: per.map((b) => b.p99),
    pooled99: p(all(name), 0.99) - p(all('direct'), 0.99),
  };
}

function latencyRow(backend: string, { blocks, cpuMs }: Comparison, counts: Counts): Row {
  const ours = added(blocks, 'router');
  const direct = {
    p50: median(blocks.map((b) => percentile(b['direct']!, 0.5))),
    p99: median(blocks.map((b) => percentile(b['direct']!, 0.99))),
  };
  const met = (ms: number, goal: number) => (ms <= goal ? 'met' : 'NOT met');
  const base = blocks[0]?.['baseline'] ? added(blocks, 'baseline') : undefined;
  const sides = base ? 'direct, router and baseline' : 'direct and router';
  return {
    name: `router added latency, ${backend}`,
    value:
      `p50 +${f(ours.p50)} ms (${met(ours.p50, goals.p50)}), p99 +${f(ours.p99)} ms (${met(ours.p99, goals.p99)}); ` +
      `medians of ${blocks.length} blocks, goals ${goals.p50} / ${goals.p99} ms`,
    detail:
      `added p50 per block ${range(ours.p50s)} ms, p99 per block ${range(ours.p99s)} ms, ` +
      `p99 of all ${blocks.length * counts.rounds} rounds pooled +${f(ours.pooled99)} ms; ` +
      `direct p50 ${f(direct.p50)} / p99 ${f(direct.p99)} ms (block medians); ` +
      `router CPU ${f(cpuMs['router']!)} ms per request; ` +
      (base
        ? `baseline router (${baselineName()}) in the same rounds: p50 +${f(base.p50)} (${range(base.p50s)}), p99 +${f(base.p99)} (${range(base.p99s)}) ms, CPU ${f(cpuMs['baseline']!)} ms per request; `
        : '') +
      `${blocks.length} x ${counts.rounds} sequential rounds (${sides}, order rotated) after ${counts.warmup} for warm-up`,
  };
}

/** One measured window of the closed loop: rates, and CPU as a share of one core. */
interface Window {
  perCore: number;
  perSecond: number;
  share: { router: number; stubs: number; client: number };
}

async function throughput(px: number): Promise<Row> {
  const { pods, concurrency, warmupMs, windows } = throughputRun;
  const stubs = await startStubs(px, pods);
  try {
    return await withRouters(stubs.urls, async ({ router, baseline }) => {
      const ours = await saturate(router, stubs, px);
      // The baseline's windows alternate with ours (ours first in even windows).
      const base = baseline ? await saturate(baseline, stubs, px) : undefined;
      const runs: Record<'ours' | 'base', Window[]> = { ours: [], base: [] };
      for (let w = 0; w < windows; w++) {
        const order = base && w % 2 === 1 ? [base, ours] : [ours, base];
        for (const side of order)
          if (side) runs[side === ours ? 'ours' : 'base'].push(await side.window());
      }
      await Promise.all([ours.close(), base?.close()]);
      const perCore = (rs: Window[]) => rs.map((r) => r.perCore);
      const pct = (x: number) => `${Math.round(x * 100)}%`;
      const mid = (pick: (r: Window) => number) => median(runs.ours.map(pick));
      const mb = (stubs.answerBytes / 1e6).toFixed(2);
      const n = (x: number) => x.toFixed(0);
      const spread = (xs: number[]) => `${n(Math.min(...xs))}..${n(Math.max(...xs))}`;
      return {
        name: `router requests/s per core, ${pods} stub pods, ${px}px answer (${mb} MB)`,
        value: n(median(perCore(runs.ours))),
        detail:
          `median of ${windows} windows of ${throughputRun.windowMs / 1000} s (range ${spread(perCore(runs.ours))}) after ${warmupMs / 1000} s of warm-up; ` +
          `${n(mid((r) => r.perSecond))} requests/s, ${concurrency} clients in a closed loop; ` +
          `CPU (share of one core): router ${pct(mid((r) => r.share.router))}, stub pods ${pct(mid((r) => r.share.stubs))}, load generator ${pct(mid((r) => r.share.client))}` +
          (base
            ? `; baseline router (${baselineName()}) in alternate windows: ${n(median(perCore(runs.base)))} per core (range ${spread(perCore(runs.base))}), ${n(median(runs.base.map((r) => r.perSecond)))} requests/s`
            : ''),
      };
    });
  } finally {
    await stubs.proc.stop();
  }
}

/** A closed loop of clients on one router, warmed up; `window()` measures one window. */
async function saturate(router: RouterProcess, stubs: Stubs, px: number) {
  const { concurrency, warmupMs, windowMs } = throughputRun;
  const client = target('router', router.url, concurrency);
  await closedLoop(client, request(px), concurrency, warmupMs);
  return {
    async window(): Promise<Window> {
      const cpu0 = { router: cpuSeconds([router.proc.pid]), stubs: cpuSeconds([stubs.proc.pid]) };
      const self0 = process.cpuUsage();
      const { requests, wallMs } = await closedLoop(client, request(px), concurrency, windowMs);
      const self = process.cpuUsage(self0);
      const routerCpu = cpuSeconds([router.proc.pid]) - cpu0.router;
      return {
        perCore: requests / routerCpu,
        perSecond: (requests * 1000) / wallMs,
        share: {
          router: routerCpu / (wallMs / 1000),
          stubs: (cpuSeconds([stubs.proc.pid]) - cpu0.stubs) / (wallMs / 1000),
          client: (self.user + self.system) / 1e3 / wallMs,
        },
      };
    },
    close: () => client.agent.close(),
  };
}
