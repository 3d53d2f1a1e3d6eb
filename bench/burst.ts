/**
 * A burst on the live fleet (issue 19), part of `npm run bench -- --only autoscaler`: the same
 * open-loop burst of 8-image requests through the routers hits an object at 1 pod (maxReplicas
 * 4, paced to the modelled H100) twice: under the default rules with the router (scale to
 * demand) and under the utilization rules (gpu-saturated: +1 pod per 30 s, the ladder a notch
 * per cooldown). Per run: seconds from the burst's start to the first scale-out and to
 * maxReplicas, the scale decisions it took, the lowest steps of the bridge and seconds until
 * the steps were back, and the images answered within 15 s. The demand run's history is what
 * `kubectl describe zid` shows.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { defaultRules } from '../src/operator/api/v1alpha1/default-rules.ts';
import { routerSelectorLabels } from '../src/operator/api/v1alpha1/names.ts';
import { benchNodePools } from '../dev/nodes.ts';
import { startCluster } from '../dev/cluster.ts';
import {
  installOperatorManifests,
  kubectl,
  operatorKubeconfig,
  startOperator,
} from '../dev/operator.ts';
import { fleetSpec, pacedWorkload } from '../dev/specs.ts';
import { createModelVolume } from '../dev/volumes.ts';
import { eventually } from '../dev/wait.ts';
import { zidClient } from '../dev/zid.ts';
import type { Row } from './cluster.ts';

const namespace = 'bench';
const { steps, size } = pacedWorkload;
/** The burst: an 8-image request every 250 ms for 20 s (~32 images/s; one pod makes ~2). */
const burst = { requests: 80, everyMs: 250, n: 8 };

interface Outcome {
  firstScaleSeconds: number;
  maxSeconds: number;
  decisions: number;
  lowestSteps: number;
  restoredSeconds: number | undefined;
  within15: number;
  images: number;
  history: string;
}

const isReady = (p: V1Pod) =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

export async function benchBurst(): Promise<Row[]> {
  const cluster = await startCluster({
    name: `bench-burst-${process.pid}`,
    nodePools: [...benchNodePools],
    fleet: {},
  });
  try {
    installOperatorManifests(cluster.kubeconfigPath);
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await createModelVolume(cluster.kubeConfig, { namespace, name: 'zimage-models' });
    const operator = await startOperator(await operatorKubeconfig(cluster.kubeconfigPath));
    try {
      const zid = zidClient(cluster.kubeConfig);
      const run = async (name: string, rules?: unknown): Promise<Outcome> => {
        const { router: _off, ...spec } = fleetSpec(1);
        const autoscaling = {
          mode: 'Enforce',
          minReplicas: 1,
          maxReplicas: 4,
          ...(rules ? { rules } : {}),
        };
        await zid.create(namespace, name, {
          ...spec,
          runtime: { ...spec.runtime, steps, maxImagesPerRequest: 8 },
          autoscaling: { ...autoscaling, metrics: { direct: true } },
        });
        const routers = await eventually(
          `2 Ready routers of ${name}`,
          async () => {
            const labelSelector = Object.entries(routerSelectorLabels(name))
              .map(([k, v]) => `${k}=${v}`)
              .join(',');
            const pods = (await core.listNamespacedPod({ namespace, labelSelector })).items;
            return pods.length === 2 && pods.every(isReady) ? pods : undefined;
          },
          180_000,
        );
        await sleep(5_000);
        const started = Date.now();
        const answers: Promise<number | undefined>[] = [];
        for (let i = 0; i < burst.requests; i++) {
          answers.push(send(routers[i % 2]!, i));
          await sleep(burst.everyMs);
        }
        const restored = await eventually(
          `${name}: steps back after the burst`,
          async () => {
            const a = (await zid.get(namespace, name)).status?.autoscaler;
            return a && a.qualityLevel === 0 && (a.replicas ?? 0) >= 2 ? a : undefined;
          },
          300_000,
        ).catch(() => undefined);
        const seconds = await Promise.all(answers);
        const a = (await zid.get(namespace, name)).status?.autoscaler;
        const history = a?.history ?? [];
        const at = (t: string) => (Date.parse(t) - started) / 1000;
        const scales = history.filter((h) => h.action === 'scale' && Number(h.to) > Number(h.from));
        const lowest = Math.min(
          steps,
          ...history.filter((h) => h.action === 'steps').map((h) => Number(h.to)),
        );
        const back = history.filter((h) => h.reason.startsWith('QualityRestored')).at(-1);
        const max = scales.find((h) => Number(h.to) === 4);
        return {
          firstScaleSeconds: scales[0] ? at(scales[0].time) : NaN,
          maxSeconds: max ? at(max.time) : NaN,
          decisions: scales.length,
          lowestSteps: lowest,
          restoredSeconds: restored && back ? at(back.time) : undefined,
          within15: seconds.filter((s) => s !== undefined && s <= 15).length * burst.n,
          images: burst.requests * burst.n,
          history: kubectl(cluster.kubeconfigPath, '-n', namespace, 'describe', 'zid', name)
            .split('\n')
            .filter((l) => /ScaledOut|Quality/.test(l))
            .join('\n'),
        };
      };
      const demand = await run('demand');
      const utilization = await run(
        'utilization',
        defaultRules.filter((r) => r.name !== 'idle'),
      );
      process.stdout.write(`kubectl describe zid demand (history):\n${demand.history}\n`);
      const row = (name: string, o: Outcome): Row => ({
        name: `burst to maxReplicas 4: ${name}`,
        value: `${o.maxSeconds.toFixed(1)} s to 4 pods`,
        detail: `${o.decisions} scale decision(s), first at ${o.firstScaleSeconds.toFixed(1)} s; steps down to ${o.lowestSteps}, back at ${o.restoredSeconds?.toFixed(1) ?? 'not within 5 min'} s; ${o.within15}/${o.images} images within 15 s`,
      });
      return [
        row('scale to demand (router defaults)', demand),
        row('gpu-saturated +1/30 s', utilization),
      ];
    } finally {
      await operator.stop();
    }
  } finally {
    await cluster.stop();
  }
}

/** Seconds to the answer of one 8-image request (undefined: refused or failed). */
async function send(router: V1Pod, i: number): Promise<number | undefined> {
  const t = Date.now();
  try {
    const res = await fetch(`http://${router.status!.podIP!}:8080/v1/images/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'a kite', size, n: burst.n, seed: 8 * i }),
    });
    await res.arrayBuffer();
    return res.status === 200 ? (Date.now() - t) / 1000 : undefined;
  } catch {
    return undefined;
  }
}
