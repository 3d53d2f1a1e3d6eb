/**
 * Each signal's PromQL (signals/prometheus/promql.ts) evaluated by the real promtool over one cluster's
 * series: the batched form answers every ZImageDeployment in one query, one series each, and
 * the single form answers one object only. Several pods, a canary, a namesake in another
 * namespace, and a GPU of no runtime pod.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { zimageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import type { ZImageDeployment } from '../../src/operator/api/v1alpha1/types.ts';
import {
  observedQuery,
  signalQuery,
  type ObservedSignal,
  type Scope,
  type Signal,
} from '../../src/operator/signals/prometheus/promql.ts';
import { routerMetrics } from '../../src/contract/metrics.ts';
import { createRouterMetrics } from '../../src/router/metrics.ts';
import { createRuntimeMetrics } from '../../src/runtime/metrics.ts';
import {
  dcgmSeries,
  generationSeries,
  histogramSeries,
  promtool,
  runtimeSeries,
  upSeries,
  type InputSeries,
  type Pod,
} from '../support/promtool.ts';
import { baseSpec } from '../support/specs.ts';
import { parseKey } from '../../src/contract/object-key.ts';

const turbo: ZImageDeployment = {
  metadata: { name: 'turbo', namespace: 'ml', uid: 'u-1' },
  spec: zimageDeploymentSpec.parse(baseSpec()),
};

const pods = {
  a: { namespace: 'ml', name: 'turbo-7d9f8c6b5-x2k4q', owner: 'turbo' },
  b: { namespace: 'ml', name: 'turbo-7d9f8c6b5-m3n7p', owner: 'turbo' },
  canary: { namespace: 'ml', name: 'turbo-canary-5c4b7d9f8-q8w2e', owner: 'turbo-canary' },
  elsewhere: { namespace: 'other', name: 'turbo-7d9f8c6b5-z9z9z', owner: 'turbo' },
  // A GPU of a pod Prometheus does not scrape as a runtime (say, a training job).
  stranger: { namespace: 'ml', name: 'trainer-0', owner: 'none' },
  // On a MIG slice: dcgm-exporter serves PROF_GR_ENGINE_ACTIVE but no GPU_UTIL.
  mig: { namespace: 'mig', name: 'turbo-6c5b4a3f2-r7t8y', owner: 'turbo' },
  // turbo's routers (spec.router on); the canary and other/turbo run none.
  router1: { namespace: 'ml', name: 'turbo-router-6b8d9c7f5-a1b2c', owner: 'turbo' },
  router2: { namespace: 'ml', name: 'turbo-router-6b8d9c7f5-d3e4f', owner: 'turbo' },
} satisfies Record<string, Pod>;

const samples = 120;
const gib = 1024;
const runtimePods = [pods.a, pods.b, pods.canary, pods.elsewhere, pods.mig];
const vram = (p: Pod, usedGiB: number, totalGiB: number) => [
  dcgmSeries('DCGM_FI_DEV_FB_USED', p, `${usedGiB * gib}x${samples}`),
  dcgmSeries('DCGM_FI_DEV_FB_FREE', p, `${(totalGiB - usedGiB) * gib}x${samples}`),
];

async function cluster(): Promise<InputSeries[]> {
  const util = (p: Pod, v: number) => dcgmSeries('DCGM_FI_DEV_GPU_UTIL', p, `${v}x${samples}`);
  const queue = (p: Pod, v: number) =>
    runtimeSeries(turbo, p, 'zimage_queue_depth', `${v}x${samples}`);
  const images = (p: Pod, s: number) => generationSeries(turbo, p, s, samples);
  const runtime = createRuntimeMetrics();
  const requests = (p: Pod, s: number) =>
    histogramSeries(runtime.requestDuration, turbo, p, s, samples);
  const router = createRouterMetrics();
  const waits = (p: Pod, s: number) => histogramSeries(router.wait, turbo, p, s, samples);
  const routerGauge = (p: Pod, metric: string, values: string) =>
    runtimeSeries(turbo, p, metric, values);
  return [
    // The routers: one image a second each waits 19 s; 3 + 5 images queued, 2 arrive a second.
    ...(await waits(pods.router1, 19)),
    ...(await waits(pods.router2, 19)),
    routerGauge(pods.router1, routerMetrics.queuedImages, `3x${samples}`),
    routerGauge(pods.router2, routerMetrics.queuedImages, `5x${samples}`),
    routerGauge(pods.router1, routerMetrics.arrivedImages, `0+2x${samples}`),
    routerGauge(pods.router2, routerMetrics.arrivedImages, `0+2x${samples}`),
    // Requests at the pods: turbo's (behind its routers, not what its clients wait) must not
    // count; the canary's clients wait 3 s per request.
    ...(await requests(pods.a, 2)),
    ...(await requests(pods.canary, 3)),
    ...runtimePods.map((p) => upSeries(turbo, p, samples)),
    ...[util(pods.a, 40), util(pods.b, 60), util(pods.canary, 99), util(pods.elsewhere, 70)],
    util(pods.stranger, 100),
    // GPU_UTIL wins where a GPU has both; the MIG slice's ratio counts x 100.
    dcgmSeries('DCGM_FI_PROF_GR_ENGINE_ACTIVE', pods.a, `0.1x${samples}`),
    dcgmSeries('DCGM_FI_PROF_GR_ENGINE_ACTIVE', pods.mig, `0.85x${samples}`),
    ...[...vram(pods.a, 8, 16), ...vram(pods.b, 12, 16), ...vram(pods.canary, 60, 80)],
    ...vram(pods.elsewhere, 4, 16),
    ...vram(pods.stranger, 16, 16),
    ...[queue(pods.a, 3), queue(pods.b, 4), queue(pods.canary, 1), queue(pods.elsewhere, 0)],
    ...(await images(pods.a, 2)),
    ...(await images(pods.b, 2)),
    ...(await images(pods.canary, 19)),
    ...(await images(pods.elsewhere, 0.4)),
  ];
}

type Expected = Record<string, number>; // 'namespace/name' -> value
const ml = {
  turbo: 'ml/turbo',
  canary: 'ml/turbo-canary',
  other: 'other/turbo',
  mig: 'mig/turbo',
} as const;

const cases: { name: string; signal: Signal; want: Expected }[] = [
  {
    name: 'GPU utilization: the mean of each object’s GPUs (GR_ENGINE_ACTIVE x 100 without GPU_UTIL)',
    signal: 'gpuUtilization',
    want: { [ml.turbo]: 50, [ml.canary]: 99, [ml.other]: 70, [ml.mig]: 85 },
  },
  {
    name: 'VRAM: the fullest card of each object, a ratio of the card',
    signal: 'vramUsedRatio',
    want: { [ml.turbo]: 0.75, [ml.canary]: 0.75, [ml.other]: 0.25 },
  },
  {
    // One image a second in (1, 2], (15, 20] and (0.25, 0.5]: p95 interpolates 95% into it.
    name: 'p95 latency: per object from the summed buckets of its pods',
    signal: 'latencyP95Seconds',
    want: { [ml.turbo]: 1.95, [ml.canary]: 19.75, [ml.other]: 0.4875 },
  },
  {
    // turbo: its routers' wait histogram, 15 + 5 x 0.95; the canary, without routers: its
    // pods' request duration in (2, 5], 2 + 3 x 0.95; other/turbo serves neither.
    name: "the client's wait: the routers' where an object has them, else the pods' requests",
    signal: 'waitP95Seconds',
    want: { [ml.turbo]: 19.75, [ml.canary]: 4.85 },
  },
  {
    name: 'queue depth: the sum over each object’s pods',
    signal: 'queueDepth',
    want: { [ml.turbo]: 7, [ml.canary]: 1, [ml.other]: 0 },
  },
];

let dir: string;
let input: InputSeries[];
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zimage-signal-promql-'));
  input = await cluster();
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function samplesOf(want: Expected) {
  return Object.entries(want).map(([key, value]) => {
    const { namespace, name } = parseKey(key);
    return { labels: `{namespace="${namespace}", zimage_deployment="${name}"}`, value };
  });
}

function evaluate(file: string, tests: { expr: string; want: Expected }[]): string {
  const test = {
    rule_files: [],
    evaluation_interval: '1s',
    tests: [
      {
        interval: '1s',
        input_series: input,
        promql_expr_test: tests.map((t) => ({
          expr: t.expr,
          eval_time: '90s',
          exp_samples: samplesOf(t.want),
        })),
      },
    ],
  };
  fs.writeFileSync(path.join(dir, file), stringify(test));
  return promtool(['test', 'rules', file], dir);
}

const observedCases: { name: string; signal: ObservedSignal; want: Expected }[] = [
  {
    name: 'images queued in the routers: the sum over its routers',
    signal: 'routerQueuedImages',
    want: { [ml.turbo]: 8 },
  },
  {
    name: 'arrivals: images per second over the routers',
    signal: 'arrivedImagesPerSecond',
    want: { [ml.turbo]: 4 },
  },
];

const allCases = [
  ...cases.map((c) => ({ ...c, query: (scope: Scope) => signalQuery(c.signal, scope) })),
  ...observedCases.map((c) => ({ ...c, query: (scope: Scope) => observedQuery(c.signal, scope) })),
];

describe('signal PromQL', () => {
  it.each(allCases)('$name', ({ signal, want, query }) => {
    const one: Scope = { namespace: 'ml', name: 'turbo' };
    const out = evaluate(`${signal}.test.yml`, [
      { expr: query('all'), want },
      { expr: query(one), want: { [ml.turbo]: want[ml.turbo]! } },
    ]);
    expect(out).toContain('SUCCESS');
  });
});
