/**
 * The operator's own PrometheusRule, rendered by its builder for a sample ZImageDeployment,
 * checked and unit-tested by the real promtool at 1 s resolution: each default rule firing and
 * not firing at its threshold and its `for` edge, hysteresis, and the selector (a canary named
 * <name>-canary and a namesake in another namespace never fire <name>'s alerts).
 *
 * Thresholds are the seed's literals (deploy/examples/seed-rules.yaml), spelled here on purpose and not read from the
 * table: a changed default or selector must fail this file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { zimageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import type { ZImageDeployment } from '../../src/operator/api/v1alpha1/types.ts';
import { buildPrometheusRule } from '../../src/operator/builders/monitoring.ts';
import { defaultRules } from '../../src/operator/api/v1alpha1/default-rules.ts';
import {
  dcgmSeries,
  generationSeries,
  histogramSeries,
  promtool,
  upSeries,
  type InputSeries,
  type Pod,
} from '../support/promtool.ts';
import { baseSpec } from '../support/specs.ts';
import { createRouterMetrics } from '../../src/router/metrics.ts';
import { createRuntimeMetrics } from '../../src/runtime/metrics.ts';

const turbo: ZImageDeployment = {
  metadata: { name: 'turbo', namespace: 'ml', uid: 'u-1' },
  // Without the router: its defaults are the utilization and wait rules these alerts test (the
  // router's demand rule has no alert: builders.test.ts).
  spec: zimageDeploymentSpec.parse({ ...baseSpec(), router: { enabled: false } }),
};

const pods = {
  turbo: { namespace: 'ml', name: 'turbo-7d9f8c6b5-x2k4q', owner: 'turbo' },
  turbo2: { namespace: 'ml', name: 'turbo-7d9f8c6b5-m3n7p', owner: 'turbo' },
  // pod=~"turbo-.*" matches this one too: the selector must not.
  canary: { namespace: 'ml', name: 'turbo-canary-5c4b7d9f8-q8w2e', owner: 'turbo-canary' },
  elsewhere: { namespace: 'other', name: 'turbo-7d9f8c6b5-z9z9z', owner: 'turbo' },
  router: { namespace: 'ml', name: 'turbo-router-6b8d9c7f5-a1b2c', owner: 'turbo' },
} satisfies Record<string, Pod>;

const routerWait = createRouterMetrics().wait;
const requestDuration = createRuntimeMetrics().requestDuration;

const alerts = {
  gpu: 'ZImageGpuSaturated',
  vram: 'ZImageVramPressure',
  slow: 'ZImageSlowGeneration',
  idle: 'ZImageIdle',
} as const;

/** Samples per series: 400 s at 1 s covers the idle rule's 5 min window. */
const samples = 400;
const gib = 1024; // dcgm-exporter reports framebuffer in MiB

const up = (...ps: Pod[]) => ps.map((p) => upSeries(turbo, p, samples));
const util = (p: Pod, values: string, gpu = 0) =>
  dcgmSeries('DCGM_FI_DEV_GPU_UTIL', p, values, gpu);
/** A card of `totalGiB` with `usedMiB` in use for the whole test. */
const vram = (p: Pod, usedMiB: number, totalGiB: number, gpu = 0) => [
  dcgmSeries('DCGM_FI_DEV_FB_USED', p, `${usedMiB}x${samples}`, gpu),
  dcgmSeries('DCGM_FI_DEV_FB_FREE', p, `${totalGiB * gib - usedMiB}x${samples}`, gpu),
];

interface Check {
  /** Seconds. */
  at: number;
  alert: string;
  firing: boolean;
}

interface Case {
  name: string;
  series: () => Promise<InputSeries[]> | InputSeries[];
  checks: Check[];
}

const never = (alert: string, at: number): Check => ({ at, alert, firing: false });
/** Not firing one evaluation before `at`, firing at `at`: pins the `for` window exactly. */
const firesAt = (alert: string, at: number): Check[] => [
  { at: at - 1, alert, firing: false },
  { at, alert, firing: true },
];

const cases: Case[] = [
  {
    // promtool 2.42 at 1 s: active at the first breaching sample (1 s), firing `for` later.
    name: 'gpu-saturated: 95% from 1s fires at 6s',
    series: () => [...up(pods.turbo), util(pods.turbo, `50 95x${samples}`)],
    checks: firesAt(alerts.gpu, 6),
  },
  {
    name: 'gpu-saturated: 91% fires (just above 90)',
    series: () => [...up(pods.turbo), util(pods.turbo, `50 91x${samples}`)],
    checks: firesAt(alerts.gpu, 6),
  },
  {
    name: 'gpu-saturated: exactly 90% never fires (above is strict)',
    series: () => [...up(pods.turbo), util(pods.turbo, `90x${samples}`)],
    checks: [never(alerts.gpu, 30)],
  },
  {
    // 85% at 4s; active again from 5s.
    name: 'gpu-saturated: a dip to 85% while pending restarts the 5 s window',
    series: () => [...up(pods.turbo), util(pods.turbo, `50 95 95 95 85 95x${samples}`)],
    checks: firesAt(alerts.gpu, 10),
  },
  {
    // `a xN` is N+1 samples: 95% at 1-15s, 82% at 16-26s, 80% from 27s.
    name: 'gpu-saturated: once firing it holds at 82% and resolves at 80% (clears below 81%)',
    series: () => [...up(pods.turbo), util(pods.turbo, `50 95x14 82x10 80x${samples}`)],
    checks: [
      { at: 15, alert: alerts.gpu, firing: true },
      { at: 26, alert: alerts.gpu, firing: true },
      never(alerts.gpu, 27),
    ],
  },
  {
    name: 'gpu-saturated: averaged over the pods (99% and 70%: 84.5%)',
    series: () => [
      ...up(pods.turbo, pods.turbo2),
      util(pods.turbo, `99x${samples}`),
      util(pods.turbo2, `70x${samples}`),
    ],
    checks: [never(alerts.gpu, 30)],
  },
  {
    name: 'gpu-saturated: the busy GPUs of turbo-canary never fire turbo',
    series: () => [
      ...up(pods.turbo, pods.canary),
      util(pods.turbo, `50x${samples}`),
      util(pods.canary, `99x${samples}`),
    ],
    checks: [never(alerts.gpu, 30)],
  },
  {
    name: 'gpu-saturated: a namesake in another namespace never fires ml/turbo',
    series: () => [
      ...up(pods.turbo, pods.elsewhere),
      util(pods.turbo, `50x${samples}`),
      util(pods.elsewhere, `99x${samples}`),
    ],
    checks: [never(alerts.gpu, 30)],
  },
  {
    name: 'gpu-saturated: a GPU of no scraped runtime pod never fires',
    series: () => [util(pods.turbo, `99x${samples}`)],
    checks: [never(alerts.gpu, 30)],
  },
  {
    // Active from the first sample (0s): fires at 5s.
    name: 'vram-pressure: 14.5 of 16 GiB fires at 5s',
    series: () => [...up(pods.turbo), ...vram(pods.turbo, 14.5 * gib, 16)],
    checks: firesAt(alerts.vram, 5),
  },
  {
    name: 'vram-pressure: exactly 14 of 16 GiB (87.5%) never fires',
    series: () => [...up(pods.turbo), ...vram(pods.turbo, 14 * gib, 16)],
    checks: [never(alerts.vram, 30)],
  },
  {
    name: 'vram-pressure: 14.5 GiB of an 80 GiB card never fires (the threshold scales)',
    series: () => [...up(pods.turbo), ...vram(pods.turbo, 14.5 * gib, 80)],
    checks: [never(alerts.vram, 30)],
  },
  {
    name: 'vram-pressure: 72 of 80 GiB fires',
    series: () => [...up(pods.turbo), ...vram(pods.turbo, 72 * gib, 80)],
    checks: firesAt(alerts.vram, 5),
  },
  {
    name: 'vram-pressure: the fullest card of a two-GPU pod counts',
    series: () => [
      ...up(pods.turbo),
      ...vram(pods.turbo, 8 * gib, 16, 0),
      ...vram(pods.turbo, 15 * gib, 16, 1),
    ],
    checks: firesAt(alerts.vram, 5),
  },
  {
    name: 'vram-pressure: a full card of turbo-canary never fires turbo',
    series: () => [
      ...up(pods.turbo, pods.canary),
      ...vram(pods.turbo, 8 * gib, 16),
      ...vram(pods.canary, 15.5 * gib, 16),
    ],
    checks: [never(alerts.vram, 30)],
  },
  {
    // A rate needs two samples: active from 1s, firing at 31s. The engine takes 2 s an
    // image; the clients wait 19 s at the routers (queued behind others): the seed's "more
    // than 15 s per image" is the wait, so it fires.
    name: 'slow-generation: clients waiting 19 s an image at the routers (p95 19.75 s) fire after 30 s',
    series: async () => [
      ...up(pods.turbo, pods.router),
      ...(await generationSeries(turbo, pods.turbo, 2, samples)),
      ...(await histogramSeries(routerWait, turbo, pods.router, 19, samples)),
    ],
    checks: firesAt(alerts.slow, 31),
  },
  {
    name: 'slow-generation: without routers, 19 s requests at the pods fire after 30 s',
    series: async () => [
      ...up(pods.turbo),
      ...(await histogramSeries(requestDuration, turbo, pods.turbo, 19, samples)),
    ],
    checks: firesAt(alerts.slow, 31),
  },
  {
    name: 'slow-generation: 19 s in the engine alone is not the wait: the rule reads the wait',
    series: async () => [
      ...up(pods.turbo),
      ...(await generationSeries(turbo, pods.turbo, 19, samples)),
      ...(await histogramSeries(requestDuration, turbo, pods.turbo, 14, samples)),
    ],
    checks: [never(alerts.slow, 90)],
  },
  {
    name: 'slow-generation: 14 s waits (just under 15) never fire',
    series: async () => [
      ...up(pods.turbo, pods.router),
      ...(await histogramSeries(routerWait, turbo, pods.router, 14, samples)),
    ],
    checks: [never(alerts.slow, 90)],
  },
  {
    // The pods' requests are the routers' images: behind routers only the routers' wait counts.
    name: 'slow-generation: slow pod requests behind fast routers never fire',
    series: async () => [
      ...up(pods.turbo, pods.router),
      ...(await histogramSeries(requestDuration, turbo, pods.turbo, 30, samples)),
      ...(await histogramSeries(routerWait, turbo, pods.router, 3, samples)),
    ],
    checks: [never(alerts.slow, 90)],
  },
  {
    name: 'slow-generation: no images is no data, never slow',
    series: async () => [
      ...up(pods.turbo, pods.router),
      ...(await histogramSeries(routerWait, turbo, pods.router, undefined, samples)),
      ...(await histogramSeries(requestDuration, turbo, pods.turbo, undefined, samples)),
    ],
    checks: [never(alerts.slow, 90)],
  },
  {
    name: 'slow-generation: the slow requests of turbo-canary never fire turbo',
    series: async () => [
      ...up(pods.turbo, pods.canary),
      ...(await histogramSeries(requestDuration, turbo, pods.turbo, 2, samples)),
      ...(await histogramSeries(requestDuration, turbo, pods.canary, 60, samples)),
    ],
    checks: [never(alerts.slow, 90)],
  },
  {
    name: 'idle: 20% for 5 min fires at 5 min',
    series: () => [...up(pods.turbo), util(pods.turbo, `20x${samples}`)],
    checks: firesAt(alerts.idle, 300),
  },
  {
    // 20% at 0-309s, 32% at 310-320s, 34% from 321s.
    name: 'idle: once firing it holds at 32% and resolves at 34% (clears above 33%)',
    series: () => [...up(pods.turbo), util(pods.turbo, `20x309 32x10 34x${samples}`)],
    checks: [{ at: 320, alert: alerts.idle, firing: true }, never(alerts.idle, 321)],
  },
  {
    name: 'idle: 30% exactly never fires (below is strict)',
    series: () => [...up(pods.turbo), util(pods.turbo, `30x${samples}`)],
    checks: [never(alerts.idle, 350)],
  },
  {
    name: 'idle: a pod without GPU series is no data, never idle',
    series: () => [...up(pods.turbo)],
    checks: [never(alerts.idle, 350)],
  },
  {
    name: 'idle: turbo-canary at 0% never fires turbo',
    series: () => [
      ...up(pods.turbo, pods.canary),
      util(pods.turbo, `60x${samples}`),
      util(pods.canary, `0x${samples}`),
    ],
    checks: [never(alerts.idle, 350)],
  },
];

let dir: string;
let rendered: {
  alert: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}[];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zimage-alert-rules-'));
  // The PrometheusRule's spec is a Prometheus rule file as it stands.
  const spec = buildPrometheusRule(turbo).spec as { groups: { rules: typeof rendered }[] };
  rendered = spec.groups.flatMap((g) => g.rules);
  fs.writeFileSync(path.join(dir, 'rules.yml'), stringify(spec));
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** What promtool must see firing: the rendered alert's own labels for ml/turbo. */
function expected(alert: string) {
  const rule = rendered.find((r) => r.alert === alert);
  if (!rule) throw new Error(`the PrometheusRule has no alert ${alert}`);
  return {
    exp_labels: { namespace: 'ml', zimage_deployment: 'turbo', ...rule.labels },
    exp_annotations: rule.annotations,
  };
}

describe('the operator PrometheusRule', () => {
  it('passes promtool check rules, one alert per default rule', () => {
    const out = promtool(['check', 'rules', 'rules.yml'], dir);
    expect(out).toContain(`SUCCESS: ${defaultRules.length} rules found`);
    expect(rendered.map((r) => r.alert)).toEqual(Object.values(alerts));
  });

  it.each(cases)('$name', async ({ name, series, checks }) => {
    const test = {
      rule_files: ['rules.yml'],
      evaluation_interval: '1s',
      tests: [
        {
          interval: '1s',
          input_series: await series(),
          alert_rule_test: checks.map((c) => ({
            eval_time: `${c.at}s`,
            alertname: c.alert,
            exp_alerts: c.firing ? [expected(c.alert)] : [],
          })),
        },
      ],
    };
    const file = `${name.replace(/[^a-z0-9]+/gi, '-')}.test.yml`;
    fs.writeFileSync(path.join(dir, file), stringify(test));
    expect(promtool(['test', 'rules', file], dir)).toContain('SUCCESS');
  });
});
