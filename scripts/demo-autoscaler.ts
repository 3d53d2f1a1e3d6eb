/**
 * The demo's autoscaler part: deploy/examples/autoscaling-demo.yaml (Enforce, 1..2 pods of the
 * 16 GiB RTX 4090 pool, two routers in front) under a scripted load from the load generator
 * through the routers, one line per second (the operator's signals, replicas, routers, steps,
 * offload, the newest action), and `kubectl describe` with the history at the end. Phases:
 *   1. saturation: 512x512 at 2.4x one pod's modelled capacity -> a second pod (+ a steps
 *      notch while it loads), and slow images lower the steps at maxReplicas;
 *   2. VRAM pressure: 1024x1024 images fill the card past 80% -> the memory-efficient
 *      attention kernel (the pods roll);
 *   3. idle: quality comes back, newest notch first, then one pod goes.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import YAML from 'yaml';
import fs from 'node:fs';
import { cards, stageSeconds } from '../src/contract/card.ts';
import { childNames } from '../src/operator/api/v1alpha1/names.ts';
import type { ZImageDeploymentObject } from '../src/operator/api/v1alpha1/types.ts';
import { serviceBackends } from '../dev/fleet/service.ts';
import { runLoad, type LoadSummary } from '../dev/load/index.ts';
import { repoRoot } from '../dev/paths.ts';
import { eventually } from '../dev/wait.ts';
import { zidClient } from '../dev/zid.ts';

export interface DemoOptions {
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  operatorUrl: string;
  /** The fleet's Prometheus: the demo object reads it besides its direct scrapes. */
  prometheusUrl?: string;
  kubectl: (...args: string[]) => string;
}

const file = path.join(repoRoot, 'deploy', 'examples', 'autoscaling-demo.yaml');
const name = 'demo';
const namespace = 'default';

/** zimage_operator_signal_value{source="direct"} of the demo object, by signal. */
async function signals(operatorUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${operatorUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('zimage_operator_signal_value{')) continue;
    if (!line.includes(`zimage_deployment="${name}"`) || !line.includes('source="direct"'))
      continue;
    const signal = /signal="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (signal) out[signal] = value;
  }
  return out;
}

/** The operator's view of the pods (its direct signals). */
function signalsText(s: Record<string, number>): string {
  const num = (v: number | undefined, digits = 0, unit = '') =>
    v === undefined ? '-' : `${v.toFixed(digits)}${unit}`;
  return [
    `gpu ${num(s['gpuUtilization'], 0, '%').padStart(4)}`,
    `vram ${num(s['vramUsedRatio'], 2)}`,
    `p95 ${num(s['latencyP95Seconds'], 1, 's').padStart(5)}`,
    `queue ${num(s['queueDepth']).padStart(2)}`,
  ].join('  ');
}

/** What runs, from the object: pods, routers (the Routers column), the effective settings. */
function fleetText(z: ZImageDeploymentObject): string {
  const st = z.status;
  const replicas = (z.spec as { replicas?: number }).replicas;
  return [
    `replicas ${replicas} (ready ${st?.readyReplicas ?? 0})`,
    `routers ${st?.router?.ready ?? '-'}`,
    `steps ${st?.effective?.steps ?? '-'}`,
    `offload ${st?.effective?.offload ?? '-'}`,
    `attention ${st?.effective?.attention ?? '-'}`,
  ].join('  ');
}

/** What a phase's load got back through the routers, e.g. "200 x10, 429 x2". */
function loadLine(phase: string, routers: number, summaries: readonly LoadSummary[]): string {
  const statuses = new Map<string, number>();
  for (const s of summaries)
    for (const [code, count] of Object.entries(s.statuses))
      statuses.set(code, (statuses.get(code) ?? 0) + count);
  const requests = summaries.reduce((sum, s) => sum + s.requests, 0);
  const answers = [...statuses].map(([code, count]) => `${code} x${count}`).join(', ');
  const longest = Math.max(0, ...summaries.map((s) => s.latencySeconds?.max ?? 0));
  return `  ${phase} load: ${requests} requests through ${routers} routers (Service ${name}): ${answers || 'none'}; longest wait ${longest.toFixed(1)} s`;
}

function line(t0: number, phase: string, s: Record<string, number>, z: ZImageDeploymentObject) {
  const at = `${String(Math.round((Date.now() - t0) / 1000)).padStart(4)}s ${phase.padEnd(10)}`;
  return `${at}  ${signalsText(s)}  | ${fleetText(z)}  | ${z.status?.lastAction ?? ''}`;
}

export async function demoAutoscaler(o: DemoOptions): Promise<void> {
  const zid = zidClient(o.kubeConfig);
  const core = o.kubeConfig.makeApiClient(CoreV1Api);
  const doc = YAML.parse(fs.readFileSync(file, 'utf8')) as { spec: Record<string, unknown> };
  // A kept cluster may hold an earlier run's object: start it over.
  await zid.delete(namespace, name).catch(() => undefined);
  await eventually(
    'earlier demo object gone',
    async () => ((await zid.get(namespace, name).catch(() => undefined)) ? undefined : true),
    60_000,
  );
  o.kubectl('apply', '-f', file);
  if (o.prometheusUrl) {
    // Where the fleet's Prometheus listens is known only now: the example names none. Direct
    // scrapes still lead where they have a value (1 s fresh); Prometheus fills the gaps.
    const patch = JSON.stringify({
      spec: { autoscaling: { metrics: { prometheus: { url: o.prometheusUrl } } } },
    });
    console.log(`$ kubectl patch zid ${name} --type=merge -p '${patch}'`);
    o.kubectl('patch', 'zid', name, '--type=merge', '-p', patch);
  }
  // Ready takes the routers too (RouterReady): clients reach the pods only through them.
  o.kubectl('wait', '--for=condition=Ready', '--timeout=120s', `zid/${name}`);
  console.log(`$ kubectl get zid ${name}\n${o.kubectl('get', 'zid', name)}`);
  const runtime = doc.spec['runtime'] as { steps: number; offload: 'none' | 'model' | 'cpu' };
  const precision = (doc.spec['model'] as { precision?: 'bf16' | 'fp16' }).precision ?? 'bf16';
  const perImage = (size: number) =>
    stageSeconds(cards['rtx4090-16gb'], {
      width: size,
      height: size,
      steps: runtime.steps,
      precision,
      offload: runtime.offload,
      attention: 'cudnn',
    }).total;

  const t0 = Date.now();
  let phase = 'start';
  let stop = false;
  const ticker = (async () => {
    while (!stop) {
      const [s, z] = await Promise.all([signals(o.operatorUrl), zid.get(namespace, name)]);
      console.log(line(t0, phase, s, z));
      await sleep(1_000);
    }
  })();
  /**
   * Offer `times` x one pod's modelled capacity per Ready pod, for `seconds`, through the
   * Service `demo`: its Ready routers share the load evenly, as clients of a Service spread over
   * its endpoints (the local fleet has no kube-proxy: serviceBackends resolves it).
   */
  const load = async (size: number, times: number, seconds: number) => {
    const pods = await serviceBackends(core, namespace, childNames(name).podsService);
    const routers = await serviceBackends(core, namespace, childNames(name).service);
    if (pods.length === 0 || routers.length === 0) {
      console.log(
        `  ${phase} load: none (${pods.length} Ready pods, ${routers.length} Ready routers)`,
      );
      return;
    }
    const rate = (times * pods.length) / perImage(size);
    const summaries = await Promise.all(
      routers.map((r) =>
        runLoad({
          target: r.url,
          schedule: {
            kind: 'constant',
            rate: rate / routers.length,
            durationSeconds: seconds,
          },
          request: { size: `${size}x${size}` },
          maxDurationSeconds: seconds + 60,
          requestTimeoutSeconds: 60,
          progressIntervalMs: 5_000,
        }),
      ),
    );
    console.log(loadLine(phase, routers.length, summaries));
  };
  try {
    phase = 'saturate';
    await load(512, 2.4, 30);
    phase = 'vram';
    await load(1024, 1.2, 20);
    phase = 'idle';
    await eventually(
      'quality back and one pod',
      async () => {
        const z = await zid.get(namespace, name);
        const a = z.status?.autoscaler;
        return a?.qualityLevel === 0 && (z.spec as { replicas?: number }).replicas === 1
          ? true
          : undefined;
      },
      240_000,
    ).catch((err: unknown) => console.log(`  (${String(err)})`));
  } finally {
    stop = true;
    await ticker;
  }
  console.log(`\n$ kubectl get zid ${name}\n${o.kubectl('get', 'zid', name)}`);
  console.log(`\n$ kubectl describe zid ${name}`);
  console.log(o.kubectl('describe', 'zid', name));
}
