/**
 * Router overhead (issue 18), all over loopback, in one run:
 * - added latency: the same single-image request sent to a pod directly and through the router
 *   in front of that pod, one at a time, alternating which goes first (http-load.ts abPairs);
 *   goals: the router's p50 at most 1 ms and its p99 at most 5 ms above the direct ones.
 *   Warm-up pairs first (not kept), then `repeats` blocks of `pairs` pairs on the same warm
 *   processes; each block gives its own added p50 and p99, and a row reports their median and
 *   range (one noisy moment on the shared host moves one block, not the figure), beside the
 *   p99 of all blocks' pairs pooled. Backends: stub pods (stub-pod.ts: no work, a real answer's
 *   size, so the difference is the router's own cost) and the real runtime over the fake
 *   pipeline at 1 step (20 ms of work, a small body);
 * - requests/s per core: the router in front of 8 stub pods, kept saturated by a closed loop of
 *   16 clients (8 images on pods, 8 waiting in the router's queue); requests per CPU-second of
 *   the router process (/proc utime + stime), per measured window after a warm-up, median of
 *   the windows.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from '../dev/ports.ts';
import { spawnManaged, waitFor, type ManagedProcess } from '../dev/process.ts';
import { startRouter, type RouterProcess } from '../dev/router-process.ts';
import { fakePipelineEnv, projectNode, startRuntime } from '../dev/runtime-process.ts';
import type { Row } from './cluster.ts';
import { abPairs, closedLoop, percentile, target, type Pairs } from './http-load.ts';
import { cpuSeconds } from './proc.ts';

/** Counts per comparison: ~1-3 ms per stub request, ~25 ms per fake-runtime request. */
const latencyRun = { warmup: 200, pairs: 1_000, repeats: 5 };
const runtimeRun = { warmup: 50, pairs: 400, repeats: 3 };
type Counts = typeof latencyRun;
const throughputRun = { pods: 8, concurrency: 16, warmupMs: 3_000, windowMs: 5_000, windows: 3 };
const goals = { p50: 1, p99: 5 };
const quiet = { ZIMAGE_LOG_LEVEL: 'warn' };

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

async function withRouter<T>(
  pods: string[],
  run: (router: RouterProcess) => Promise<T>,
): Promise<T> {
  const router = await startRouter(pods, quiet);
  try {
    return await run(router);
  } finally {
    // Killed, not drained: a drain waits its 5 s delay (router.ts), and nothing is in flight.
    await router.stop(0);
  }
}

interface Comparison {
  /** One A/B block per repeat, a = direct, b = router. */
  blocks: Pairs[];
  /** The router process's CPU ms per request it served (warm-up included). */
  routerCpuMs: number;
}

/** A/B pairs to `pod` directly and through a router in front of it alone. */
function compare(pod: string, body: (i: number) => string, counts: Counts): Promise<Comparison> {
  return withRouter([pod], async (router) => {
    const cpu0 = cpuSeconds([router.proc.pid]);
    const direct = target('direct', pod);
    const via = target('router', router.url);
    const blocks: Pairs[] = [];
    for (let r = 0; r < counts.repeats; r++) {
      const warmup = r === 0 ? counts.warmup : 0;
      const offset = r * counts.pairs;
      blocks.push(await abPairs(direct, via, (i) => body(offset + i), { ...counts, warmup }));
    }
    await Promise.all([direct.agent.close(), via.agent.close()]);
    const cpu = cpuSeconds([router.proc.pid]) - cpu0;
    const served = counts.warmup + counts.pairs * counts.repeats;
    return { blocks, routerCpuMs: (cpu * 1000) / served };
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

function latencyRow(backend: string, { blocks, routerCpuMs }: Comparison, counts: Counts): Row {
  const p = percentile;
  const f = (ms: number) => ms.toFixed(2);
  const range = (xs: number[]) => `${f(Math.min(...xs))}..${f(Math.max(...xs))}`;
  // Per block: its added p50 and p99 (router's percentile - direct's), and the direct ones.
  const per = blocks.map(({ a: direct, b: router }) => ({
    added50: p(router, 0.5) - p(direct, 0.5),
    added99: p(router, 0.99) - p(direct, 0.99),
    direct50: p(direct, 0.5),
    direct99: p(direct, 0.99),
  }));
  const col = (key: keyof (typeof per)[number]) => per.map((b) => b[key]);
  const added50 = median(col('added50'));
  const added99 = median(col('added99'));
  const all = { direct: blocks.flatMap((b) => b.a), router: blocks.flatMap((b) => b.b) };
  const pooled99 = p(all.router, 0.99) - p(all.direct, 0.99);
  const met = (ms: number, goal: number) => (ms <= goal ? 'met' : 'NOT met');
  return {
    name: `router added latency, ${backend}`,
    value:
      `p50 +${f(added50)} ms (${met(added50, goals.p50)}), p99 +${f(added99)} ms (${met(added99, goals.p99)}); ` +
      `medians of ${blocks.length} blocks, goals ${goals.p50} / ${goals.p99} ms`,
    detail:
      `added p50 per block ${range(col('added50'))} ms, p99 per block ${range(col('added99'))} ms, ` +
      `p99 of all ${all.direct.length} pairs pooled +${f(pooled99)} ms; ` +
      `direct p50 ${f(median(col('direct50')))} / p99 ${f(median(col('direct99')))} ms (block medians); ` +
      `router CPU ${f(routerCpuMs)} ms per request; ` +
      `${blocks.length} x ${counts.pairs} sequential A/B pairs after ${counts.warmup} for warm-up`,
  };
}

/** One measured window of the closed loop: rates, and CPU as a share of one core. */
interface Window {
  perCore: number;
  perSecond: number;
  share: { router: number; stubs: number; client: number };
}

async function throughput(px: number): Promise<Row> {
  const { pods, concurrency, warmupMs, windowMs, windows } = throughputRun;
  const stubs = await startStubs(px, pods);
  try {
    return await withRouter(stubs.urls, async (router) => {
      const client = target('router', router.url, concurrency);
      await closedLoop(client, request(px), concurrency, warmupMs);
      const runs: Window[] = [];
      for (let w = 0; w < windows; w++) {
        const cpu0 = {
          router: cpuSeconds([router.proc.pid]),
          stubs: cpuSeconds([stubs.proc.pid]),
        };
        const self0 = process.cpuUsage();
        const { requests, wallMs } = await closedLoop(client, request(px), concurrency, windowMs);
        const self = process.cpuUsage(self0);
        runs.push({
          perCore: requests / (cpuSeconds([router.proc.pid]) - cpu0.router),
          perSecond: (requests * 1000) / wallMs,
          share: {
            router: (cpuSeconds([router.proc.pid]) - cpu0.router) / (wallMs / 1000),
            stubs: (cpuSeconds([stubs.proc.pid]) - cpu0.stubs) / (wallMs / 1000),
            client: (self.user + self.system) / 1e3 / wallMs,
          },
        });
      }
      await client.agent.close();
      const perCore = runs.map((r) => r.perCore);
      const pct = (x: number) => `${Math.round(x * 100)}%`;
      const mid = (pick: (r: Window) => number) => median(runs.map(pick));
      const mb = (stubs.answerBytes / 1e6).toFixed(2);
      return {
        name: `router requests/s per core, ${pods} stub pods, ${px}px answer (${mb} MB)`,
        value: median(perCore).toFixed(0),
        detail:
          `median of ${windows} windows of ${windowMs / 1000} s (range ${Math.min(...perCore).toFixed(0)}..${Math.max(...perCore).toFixed(0)}) after ${warmupMs / 1000} s of warm-up; ` +
          `${mid((r) => r.perSecond).toFixed(0)} requests/s, ${concurrency} clients in a closed loop; ` +
          `CPU (share of one core): router ${pct(mid((r) => r.share.router))}, stub pods ${pct(mid((r) => r.share.stubs))}, load generator ${pct(mid((r) => r.share.client))}`,
      };
    });
  } finally {
    await stubs.proc.stop();
  }
}
