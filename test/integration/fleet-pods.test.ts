/**
 * The local fleet's pod runner against the real control plane, with the real operator and real
 * runtime processes: every Running pod of a ZImageDeployment is a process on its pod IP, Ready
 * only once /readyz answers, restarted when it dies, stopped within its grace period when
 * deleted, and gone with the runner.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runnerPodCidr } from '../../dev/fleet/cidr.ts';
import { serviceBackends } from '../../dev/fleet/service.ts';
import { eventually } from '../support/k8s.ts';
import {
  alive,
  fleetSpec,
  pidOf,
  readyPods,
  runtimePods,
  startTestFleet,
  type TestFleet,
} from '../support/fleet.ts';

let fleet: TestFleet;
const name = 'turbo';

beforeAll(async () => {
  fleet = await startTestFleet(`fleet-pods-${process.pid}`);
  await fleet.zid.create(fleet.namespace, name, fleetSpec(1));
});
afterAll(async () => {
  await fleet?.stop();
});

const environ = (pid: number) =>
  Object.fromEntries(
    fs
      .readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );

const metricsOf = async (ip: string) => (await fetch(`http://${ip}:8080/metrics`)).text();

describe('a ZImageDeployment pod is a real runtime process', () => {
  it('runs on its pod IP with the env the pod spec renders, Ready once /readyz answers', async () => {
    const [pod] = await readyPods(fleet, name, 1);
    const ip = pod!.status!.podIP!;
    // The runner's own /24, named after its port: no other live cluster hands out this address.
    const range = runnerPodCidr(fleet.cluster.ports.podRunner);
    expect(ip.split('.').slice(0, 3).join('.')).toBe(range.split('.').slice(0, 3).join('.'));
    const pid = pidOf(pod!)!;
    expect(alive(pid)).toBe(true);
    const env = environ(pid);
    expect(env).toMatchObject({
      ZIMAGE_POD_NAME: pod!.metadata!.name, // downward API metadata.name
      ZIMAGE_NAMESPACE: fleet.namespace, // metadata.namespace
      ZIMAGE_HOST: ip,
      ZIMAGE_EXECUTION_PROVIDER: 'cpu',
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      // The local fleet's overrides (dev/fleet/programs.ts): the node's card, paced.
      ZIMAGE_GPU_CARD: 'h100-80gb',
      ZIMAGE_PACING: 'true',
    });
    const readyz: unknown = await (await fetch(`http://${ip}:8080/readyz`)).json();
    expect(readyz).toMatchObject({ gpu: { card: 'h100-80gb', pacing: true } });
    // The model volume resolved through claim and PersistentVolume to the tiny model.
    expect(fs.realpathSync(env['ZIMAGE_MODEL_DIR']!)).toMatch(/test\/fixtures\/zimage-tiny$/);
    expect((await fetch(`http://${ip}:8080/readyz`)).status).toBe(200);
    const status = pod!.status!.containerStatuses![0]!;
    expect(status).toMatchObject({ ready: true, started: true, restartCount: 0 });
  });

  it('reads its live config with its own ServiceAccount token (TokenRequest, bound to the pod)', async () => {
    const [pod] = await runtimePods(fleet, name);
    const token = fs.readFileSync(
      `${environ(pidOf(pod!)!)['ZIMAGE_POD_ROOT']}/var/run/secrets/kubernetes.io/serviceaccount/token`,
      'utf8',
    );
    // A bound token names the pod it belongs to.
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
      'kubernetes.io': { pod: { name: string; uid: string } };
    };
    expect(claims['kubernetes.io'].pod).toEqual({
      name: pod!.metadata!.name,
      uid: pod!.metadata!.uid,
    });
    const steps = async () =>
      /^zimage_config_info\{[^}]*steps="(\d+)"/m.exec(await metricsOf(pod!.status!.podIP!))?.[1];
    expect(await steps()).toBe('9');
    await fleet.zid.patchSpec(fleet.namespace, name, { runtime: { steps: 5 } });
    await eventually(
      'steps=5 reaching the runtime through the API',
      async () => ((await steps()) === '5' ? true : undefined),
      30_000,
    );
  });
});

describe('kubectl scale 1 -> 3 -> 1', () => {
  it('starts processes that become Ready and serve as the Service backends, then stops them', async () => {
    fleet.kubectl('scale', `zid/${name}`, '--replicas=3');
    const pods = await readyPods(fleet, name, 3, 120_000);
    const ips = pods.map((p) => p.status!.podIP!).sort();
    // The EndpointSlice controller picks these pods but the API server refuses loopback
    // addresses in EndpointSlices (dev/fleet/service.ts), so the backends come from there.
    const backends = await serviceBackends(fleet.core, fleet.namespace, name);
    expect(backends.map((b) => b.address).sort()).toEqual(ips);
    for (const b of backends) {
      const res = await fetch(`${b.url}/v1/images/generations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'a red fox', size: '64x64', steps: 2 }),
      });
      expect(res.status, b.pod).toBe(200);
    }

    const pids = pods.map((p) => pidOf(p)!);
    fleet.kubectl('scale', `zid/${name}`, '--replicas=1');
    const [survivor] = await readyPods(fleet, name, 1, 60_000);
    const stopped = pids.filter((pid) => pid !== pidOf(survivor!));
    expect(stopped).toHaveLength(2);
    await eventually('scaled-in processes gone', () => (stopped.some(alive) ? undefined : true));
    expect((await serviceBackends(fleet.core, fleet.namespace, name)).map((b) => b.pod)).toEqual([
      survivor!.metadata!.name,
    ]);
  });
});

describe('restarts and deletion, as kubelet', () => {
  it('restarts a killed runtime process and counts the restart', async () => {
    const [pod] = await readyPods(fleet, name, 1);
    const pid = pidOf(pod!)!;
    process.kill(pid, 'SIGKILL');
    const restarted = await eventually(
      'a restarted, Ready runtime',
      async () => {
        const [p] = await runtimePods(fleet, name);
        const s = p?.status?.containerStatuses?.[0];
        return s?.restartCount === 1 && s.ready && pidOf(p!) !== pid ? p : undefined;
      },
      60_000,
    );
    const status = restarted.status!.containerStatuses![0]!;
    expect(status.lastState?.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });
    expect(restarted.metadata!.uid).toBe(pod!.metadata!.uid);
  });

  it('ends a deleted pod’s process within its grace period, preStop first, then removes the pod', async () => {
    const [pod] = await readyPods(fleet, name, 1);
    const pid = pidOf(pod!)!;
    const grace = pod!.spec!.terminationGracePeriodSeconds!;
    const started = Date.now();
    await fleet.core.deleteNamespacedPod({
      name: pod!.metadata!.name!,
      namespace: fleet.namespace,
    });
    await eventually('the process gone', () => (alive(pid) ? undefined : true), grace * 1000);
    const seconds = (Date.now() - started) / 1000;
    // preStop sleeps 5 s before SIGTERM; the idle runtime then exits at once.
    expect(seconds).toBeGreaterThanOrEqual(5);
    expect(seconds).toBeLessThan(grace);
    await eventually('the pod object deleted', async () => {
      const pods = await runtimePods(fleet, name);
      return pods.every((p) => p.metadata!.uid !== pod!.metadata!.uid) ? true : undefined;
    });
    // The Deployment replaces it with a new process.
    const [replacement] = await readyPods(fleet, name, 1);
    expect(pidOf(replacement!)).not.toBe(pid);
  });
});

describe('no orphans', () => {
  it('pod processes die with a SIGKILLed runner; a new runner brings the pods back', async () => {
    const [pod] = await readyPods(fleet, name, 1);
    const pid = pidOf(pod!)!;
    const restarts = pod!.status!.containerStatuses![0]!.restartCount;
    process.kill(fleet.cluster.pids()['pod-runner'], 'SIGKILL');
    await eventually(
      'the runtime gone with its runner',
      () => (alive(pid) ? undefined : true),
      10_000,
    );
    await fleet.cluster.restart('pod-runner');
    const back = await eventually(
      'the pod running again, one restart more',
      async () => {
        const [p] = await runtimePods(fleet, name);
        const s = p?.status?.containerStatuses?.[0];
        return s?.ready && pidOf(p!) !== pid && s.restartCount === restarts + 1 ? p : undefined;
      },
      60_000,
    );
    expect(back.metadata!.uid).toBe(pod!.metadata!.uid);
  });

  it('stopping the cluster ends every pod process', async () => {
    const pids = (await runtimePods(fleet, name)).map((p) => pidOf(p)!);
    expect(pids.every(alive)).toBe(true);
    await fleet.stop();
    expect(pids.filter(alive)).toEqual([]);
  });
});
