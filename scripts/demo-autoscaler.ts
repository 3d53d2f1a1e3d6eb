/**
 * The demo's autoscaler part: deploy/examples/autoscaling-demo.yaml (Enforce, 1..2 pods of the
 * 16 GiB RTX 4090 pool) under a scripted load from the load generator, one line per second
 * (the operator's signals, replicas, steps, offload, the newest action), and `kubectl describe`
 * with the history at the end. Phases:
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
import type { ZImageDeploymentObject } from '../src/operator/api/v1alpha1/types.ts';
import { serviceBackends } from '../dev/fleet/service.ts';
import { runLoad } from '../dev/load/index.ts';
import { repoRoot } from '../dev/paths.ts';
import { eventually } from '../dev/wait.ts';
import { zidClient } from '../dev/zid.ts';

export interface DemoOptions {
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  operatorUrl: string;
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

function line(t0: number, phase: string, s: Record<string, number>, z: ZImageDeploymentObject) {
  const num = (v: number | undefined, digits = 0, unit = '') =>
    v === undefined ? '-' : `${v.toFixed(digits)}${unit}`;
  const st = z.status;
  const replicas = (z.spec as { replicas?: number }).replicas;
  return [
    `${String(Math.round((Date.now() - t0) / 1000)).padStart(4)}s ${phase.padEnd(10)}`,
    `gpu ${num(s['gpuUtilization'], 0, '%').padStart(4)}`,
    `vram ${num(s['vramUsedRatio'], 2)}`,
    `p95 ${num(s['latencyP95Seconds'], 1, 's').padStart(5)}`,
    `queue ${num(s['queueDepth']).padStart(2)}`,
    `| replicas ${replicas} (ready ${st?.readyReplicas ?? 0})`,
    `steps ${st?.effective?.steps ?? '-'}`,
    `offload ${st?.effective?.offload ?? '-'}`,
    `attention ${st?.effective?.attention ?? '-'}`,
    `| ${st?.lastAction ?? ''}`,
  ].join('  ');
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
  o.kubectl('wait', '--for=condition=Ready', '--timeout=120s', `zid/${name}`);
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
  /** Offer `times` x one pod's modelled capacity to each Ready pod, for `seconds`. */
  const load = async (size: number, times: number, seconds: number) => {
    const backends = await serviceBackends(core, namespace, name);
    await Promise.all(
      backends.map((b) =>
        runLoad({
          target: b.url,
          schedule: {
            kind: 'constant',
            rate: times / perImage(size),
            durationSeconds: seconds,
          },
          request: { size: `${size}x${size}` },
          maxDurationSeconds: seconds + 60,
          requestTimeoutSeconds: 60,
          progressIntervalMs: 5_000,
        }),
      ),
    );
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
  console.log(`\n$ kubectl describe zid ${name}`);
  console.log(o.kubectl('describe', 'zid', name));
}
