/**
 * Router overhead (issue 18), all over loopback, in one run:
 * - added latency: the same single-image request sent to a pod directly and through the router
 *   in front of that pod, one at a time, alternating (http-load.ts abPairs); goals: the router's
 *   p50 at most 1 ms and its p99 at most 5 ms above the direct ones. Backends: stub pods
 *   (stub-pod.ts: no work, a real answer's size, so the difference is the router's own cost) and
 *   the real runtime over the fake pipeline at 1 step (20 ms of work, a small body);
 * - requests/s per core: the router in front of 8 stub pods, kept saturated by a closed loop of
 *   16 clients (8 images on pods, 8 waiting in the router's queue); requests per CPU-second of
 *   the router process (/proc utime + stime over the measured window).
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

/** Counts per comparison: ~1-2 ms per stub request, ~25 ms per fake-runtime request. */
const latencyRun = { warmup: 100, pairs: 1_000 };
const runtimeRun = { warmup: 30, pairs: 500 };
const throughputRun = { pods: 8, concurrency: 16, warmupMs: 3_000, measureMs: 10_000 };
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
  pairs: Pairs;
  /** The router process's CPU ms per request it served (warm-up included). */
  routerCpuMs: number;
}

/** A/B pairs to `pod` directly and through a router in front of it alone. */
function compare(
  pod: string,
  body: (i: number) => string,
  counts: typeof latencyRun,
): Promise<Comparison> {
  return withRouter([pod], async (router) => {
    const cpu0 = cpuSeconds([router.proc.pid]);
    const pairs = await abPairs(target('direct', pod), target('router', router.url), body, counts);
    const cpu = cpuSeconds([router.proc.pid]) - cpu0;
    return { pairs, routerCpuMs: (cpu * 1000) / (counts.warmup + counts.pairs) };
  });
}

async function latencyOverStub(px: number): Promise<Row> {
  const stubs = await startStubs(px, 1);
  try {
    const result = await compare(stubs.urls[0]!, request(px), latencyRun);
    const mb = (stubs.answerBytes / 1e6).toFixed(2);
    return latencyRow(`stub pod, ${px}px answer (${mb} MB)`, result, latencyRun.pairs);
  } finally {
    await stubs.proc.stop();
  }
}

async function latencyOverFakeRuntime(): Promise<Row> {
  const pod = await startRuntime({ env: { ...fakePipelineEnv, ...quiet } });
  try {
    const result = await compare(pod.url, request(1024, 1), runtimeRun);
    return latencyRow('runtime, fake pipeline, 1 step (20 ms)', result, runtimeRun.pairs);
  } finally {
    await pod.stop();
  }
}

function latencyRow(backend: string, { pairs, routerCpuMs }: Comparison, count: number): Row {
  const p = (xs: number[], q: number) => percentile(xs, q);
  const [direct, router] = [pairs.a, pairs.b];
  const added50 = p(router, 0.5) - p(direct, 0.5);
  const added99 = p(router, 0.99) - p(direct, 0.99);
  const diffs = router.map((ms, i) => ms - direct[i]!);
  const met = added50 <= goals.p50 && added99 <= goals.p99;
  const f = (ms: number) => ms.toFixed(2);
  return {
    name: `router added latency, ${backend}`,
    value: `p50 +${f(added50)} ms, p99 +${f(added99)} ms (goals ${goals.p50} / ${goals.p99}: ${met ? 'met' : 'NOT met'})`,
    detail:
      `direct p50 ${f(p(direct, 0.5))} / p99 ${f(p(direct, 0.99))} ms; via router p50 ${f(p(router, 0.5))} / p99 ${f(p(router, 0.99))} ms; ` +
      `per pair (router - direct) p50 ${f(p(diffs, 0.5))} / p99 ${f(p(diffs, 0.99))} ms; router CPU ${f(routerCpuMs)} ms per request; ` +
      `${count} sequential A/B pairs after warm-up`,
  };
}

async function throughput(px: number): Promise<Row> {
  const { pods, concurrency, warmupMs, measureMs } = throughputRun;
  const stubs = await startStubs(px, pods);
  try {
    return await withRouter(stubs.urls, async (router) => {
      const client = target('router', router.url, concurrency);
      await closedLoop(client, request(px), concurrency, warmupMs);
      const cpu0 = { router: cpuSeconds([router.proc.pid]), stubs: cpuSeconds([stubs.proc.pid]) };
      const self0 = process.cpuUsage();
      const { requests, wallMs } = await closedLoop(client, request(px), concurrency, measureMs);
      const self = process.cpuUsage(self0);
      const routerCpu = cpuSeconds([router.proc.pid]) - cpu0.router;
      const stubCpu = cpuSeconds([stubs.proc.pid]) - cpu0.stubs;
      const share = (cpu: number) => `${Math.round((cpu * 100_000) / wallMs)}%`;
      const mb = (stubs.answerBytes / 1e6).toFixed(2);
      return {
        name: `router requests/s per core, ${pods} stub pods, ${px}px answer (${mb} MB)`,
        value: (requests / routerCpu).toFixed(0),
        detail:
          `${((requests * 1000) / wallMs).toFixed(0)} requests/s over ${(wallMs / 1000).toFixed(1)} s, ${concurrency} clients in a closed loop; ` +
          `CPU (share of one core): router ${share(routerCpu)}, stub pods ${share(stubCpu)}, load generator ${share((self.user + self.system) / 1e6)}`,
      };
    });
  } finally {
    await stubs.proc.stop();
  }
}
