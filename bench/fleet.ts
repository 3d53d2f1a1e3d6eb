/**
 * The live local fleet (docs/local-cluster.md): a fleet cluster on the default node pools (4
 * H100 nodes x 8, 2 RTX 4090, 1 CPU; 6 dcgm-exporter stand-ins), the operator, one
 * ZImageDeployment of 8 replicas on the tiny model (paced, H100 pool), and Prometheus
 * discovering it all. Measures (a) per pod, PodScheduled=True -> Ready=True as a watch sees
 * them (condition times only have 1 s resolution), (b) memory of the whole fleet by component
 * class, (c) scrape cost per job and the CPU of the stand-ins. Loopback only, about 2-3 min.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, Watch, type V1Pod } from '@kubernetes/client-node';
import { startCluster, type Cluster } from '../dev/cluster.ts';
import { startFleetPrometheus } from '../dev/fleet/prometheus-sd.ts';
import { installOperatorManifests, operatorKubeconfig, startOperator } from '../dev/operator.ts';
import { runnerPidsFile } from '../dev/state.ts';
import { createModelVolume } from '../dev/volumes.ts';
import type { PrometheusInstance } from '../dev/prometheus.ts';
import { eventually } from '../dev/wait.ts';
import { fleetSpec } from '../dev/specs.ts';
import { zidClient } from '../dev/zid.ts';
import type { Row } from './cluster.ts';
import { commandLine, cpuSeconds, machineMemoryGiB, memoryMiB, withDescendants } from './proc.ts';

const replicas = 8;
const namespace = 'bench';
const name = 'turbo';

const quantile = (xs: readonly number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};
const conditionTrue = (pod: V1Pod, type: string) =>
  pod.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;

/** First time (ms, this clock) a watch saw each pod scheduled and Ready. */
async function watchPods(cluster: Cluster) {
  const seen = new Map<string, { scheduled?: number; ready?: number }>();
  const request = await new Watch(cluster.kubeConfig).watch(
    `/api/v1/namespaces/${namespace}/pods`,
    {},
    (_type: string, pod: V1Pod) => {
      const now = performance.now();
      const entry = seen.get(pod.metadata!.name!) ?? {};
      if (entry.scheduled === undefined && conditionTrue(pod, 'PodScheduled'))
        entry.scheduled = now;
      if (entry.ready === undefined && conditionTrue(pod, 'Ready')) entry.ready = now;
      seen.set(pod.metadata!.name!, entry);
    },
    () => {},
  );
  return { seen, stop: () => request.abort() };
}

/**
 * Every process of the fleet by component class, descendants included, each pid in one class
 * only: the pod runner is the parent of every pod's process, which count as pods, not runner.
 */
function fleetProcesses(cluster: Cluster, operatorPid: number, promPid: number) {
  const runnerPids = JSON.parse(
    fs.readFileSync(path.join(cluster.dir, runnerPidsFile), 'utf8'),
  ) as number[];
  const podClass = (pid: number) => {
    const cmd = commandLine(pid);
    if (cmd.includes('runtime/main.ts')) return 'runtime pods';
    return cmd.includes('dcgm-exporter') ? 'dcgm-exporter stand-ins' : 'other pods';
  };
  const roots: [string, number][] = [
    ...runnerPids.map((pid): [string, number] => [podClass(pid), pid]),
    ...Object.entries(cluster.pids()),
    ['operator', operatorPid],
    ['prometheus', promPid],
  ];
  const claimed = new Set<number>();
  const classes = new Map<string, number[]>();
  for (const [cls, root] of roots) {
    const own = withDescendants([root]).filter((pid) => !claimed.has(pid));
    for (const pid of own) claimed.add(pid);
    classes.set(cls, [...(classes.get(cls) ?? []), ...own]);
  }
  return classes;
}

/**
 * Scale 8 -> 9 on the otherwise idle fleet: one pod's Ready time without the other 7 starting.
 * From the watch's times, else from the conditions' (1 s) lastTransitionTimes; a pod that does
 * not get Ready is reported with its state rather than failing the other measurements.
 */
async function lonePodReady(
  cluster: Cluster,
  watch: Awaited<ReturnType<typeof watchPods>>,
): Promise<{ value: string; detail: string }> {
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const before = new Set(watch.seen.keys());
  await zidClient(cluster.kubeConfig).patchSpec(namespace, name, { replicas: replicas + 1 });
  const transition = (pod: V1Pod, type: string) =>
    Date.parse(String(pod.status?.conditions?.find((c) => c.type === type)?.lastTransitionTime));
  let last: V1Pod | undefined;
  try {
    return await eventually(
      'the 9th pod Ready',
      async () => {
        const pods = await core.listNamespacedPod({ namespace });
        last = pods.items.find((p) => !before.has(p.metadata!.name!));
        if (!last || !conditionTrue(last, 'Ready')) return undefined;
        const seen = watch.seen.get(last.metadata!.name!);
        if (seen?.ready !== undefined && seen.scheduled !== undefined) {
          const s = (seen.ready - seen.scheduled) / 1000;
          return { value: `${s.toFixed(1)} s`, detail: 'the 9th replica, as a watch saw it' };
        }
        const s = (transition(last, 'Ready') - transition(last, 'PodScheduled')) / 1000;
        return {
          value: `${s.toFixed(0)} s`,
          detail: 'the 9th replica, from condition times (1 s)',
        };
      },
      120_000,
    );
  } catch (err) {
    const state = last ? JSON.stringify(last.status?.conditions ?? []) : 'no new pod';
    return { value: 'not measured', detail: `${String(err)}; ${state}` };
  }
}

async function scrapeCost(prom: PrometheusInstance) {
  const byJob = async (q: string) =>
    Object.fromEntries(
      (await prom.query(q)).map((s) => [s.metric['job'] ?? '?', Number(s.value[1])]),
    );
  // Over the last 30 s (30 scrapes at 1 s): mean and worst duration, samples per target.
  return {
    meanMs: await byJob('avg by (job) (avg_over_time(scrape_duration_seconds[30s])) * 1000'),
    maxMs: await byJob('max by (job) (max_over_time(scrape_duration_seconds[30s])) * 1000'),
    samples: await byJob('avg by (job) (scrape_samples_scraped)'),
    targets: await byJob('count by (job) (up == 1)'),
  };
}

export async function benchFleet(): Promise<Row[]> {
  const cluster = await startCluster({ name: `bench-fleet-${process.pid}`, fleet: true });
  let prom: PrometheusInstance | undefined;
  let stopOperator: () => Promise<unknown> = () => Promise.resolve();
  let stopWatch = () => {};
  try {
    installOperatorManifests(cluster.kubeconfigPath);
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await createModelVolume(cluster.kubeConfig, { namespace, name: 'zimage-models' });
    const op = await startOperator(await operatorKubeconfig(cluster.kubeconfigPath), {
      env: { ZIMAGE_LOG_LEVEL: 'warn' },
    });
    stopOperator = () => op.stop();
    const watch = await watchPods(cluster);
    stopWatch = watch.stop;
    const created = performance.now();
    await zidClient(cluster.kubeConfig).create(namespace, name, fleetSpec(replicas));
    await eventually(
      `${replicas} runtime pods Ready`,
      () => {
        const times = [...watch.seen.values()];
        return times.filter((t) => t.ready !== undefined).length >= replicas ? true : undefined;
      },
      180_000,
    );
    const allReady = (performance.now() - created) / 1000;
    const readySeconds = [...watch.seen.values()].map((t) => (t.ready! - t.scheduled!) / 1000);

    prom = await startFleetPrometheus(cluster);
    const expectedTargets = replicas + 6;
    await eventually(
      `${expectedTargets} targets up`,
      async () => {
        const up = await prom!.query('up == 1');
        return up.length === expectedTargets ? true : undefined;
      },
      60_000,
    );
    // 30 s of 1 s scrapes: the windows below, and start-up transients settled.
    const processes = fleetProcesses(cluster, op.child.pid!, prom.pid);
    const all = () => [...processes.values()].flat();
    const cpuBefore = new Map([...processes].map(([c, p]) => [c, cpuSeconds(p)]));
    const windowStart = performance.now();
    await sleep(30_000);
    const windowSeconds = (performance.now() - windowStart) / 1000;
    const cpuShare = new Map(
      [...processes].map(([c, p]) => [c, (cpuSeconds(p) - cpuBefore.get(c)!) / windowSeconds]),
    );
    const memory = new Map([...processes].map(([c, p]) => [c, memoryMiB(p)]));
    const total = memoryMiB(all());
    const cost = await scrapeCost(prom);
    const machine = machineMemoryGiB();
    const lone = await lonePodReady(cluster, watch);
    const fmt = (n: number) => Math.round(n).toString();
    const runtimeCount = processes.get('runtime pods')?.length ?? 0;
    return [
      {
        name: `pod Ready after scheduling (${replicas} pods at once, tiny model, paced H100)`,
        value: `median ${quantile(readySeconds, 0.5).toFixed(1)} s, p95 ${quantile(readySeconds, 0.95).toFixed(1)} s`,
        detail: `PodScheduled=True -> Ready=True as a watch saw them; all ${replicas} Ready ${allReady.toFixed(1)} s after the create; per pod: ${readySeconds
          .sort((a, b) => a - b)
          .map((s) => s.toFixed(1))
          .join(', ')} s`,
      },
      {
        name: 'pod Ready after scheduling (one pod alone, fleet idle)',
        ...lone,
      },
      {
        name: `fleet memory: ${runtimeCount} runtime pods + control plane + operator + Prometheus`,
        value: `${fmt(total.pss)} MiB PSS (${fmt(total.rss)} MiB RSS)`,
        detail: `${[...memory]
          .map(([c, m]) => `${c} ${fmt(m.pss)}/${fmt(m.rss)}`)
          .join(
            ', ',
          )} (PSS/RSS MiB); machine ${machine.total.toFixed(1)} GiB, ${machine.available.toFixed(1)} GiB available with the fleet up`,
      },
      ...[...cpuShare].map(([c, share]) => ({
        name: `CPU, idle fleet: ${c}`,
        value: `${(share * 100).toFixed(1)}% of a core`,
        detail: `${processes.get(c)!.length} processes, over ${windowSeconds.toFixed(0)} s with 1 s scrapes`,
      })),
      ...Object.keys(cost.meanMs)
        .sort()
        .map((job) => ({
          name: `scrape cost: ${job}`,
          value: `${cost.meanMs[job]!.toFixed(1)} ms mean, ${cost.maxMs[job]!.toFixed(1)} ms max`,
          detail: `scrape_duration_seconds over 30 s of 1 s scrapes; ${fmt(cost.samples[job] ?? 0)} samples per scrape per target (scrape_samples_scraped), ${cost.targets[job] ?? 0} targets up`,
        })),
    ];
  } finally {
    stopWatch();
    await prom?.stop();
    await stopOperator();
    await cluster.stop();
  }
}
