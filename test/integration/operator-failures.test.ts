/**
 * Failure behaviour of the operator on a cluster of its own: leader election and failover,
 * an API server restart, a silently stalled watch, monitoring CRDs arriving at run time.
 */
import { CoordinationV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../../dev/cluster.ts';
import { installMonitoringCrds } from '../../dev/monitoring-crds.ts';
import { createModelVolume } from '../../dev/volumes.ts';
import { clients, eventually, isReady } from '../support/k8s.ts';
import {
  installOperatorManifests,
  operatorKubeconfig,
  operatorNamespace,
  startOperator,
  type OperatorProcess,
} from '../../dev/operator.ts';
import { baseSpec } from '../support/specs.ts';
import { withoutRouter } from '../../dev/specs.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { waitForCondition, zidClient } from '../support/zid.ts';

const namespace = 'failures';
let cluster: Cluster;
let operators: OperatorProcess[] = [];
let proxy: TcpProxy | undefined;

// GPU nodes only: no node for routers (they take no GPU), so the runtime's own path.
const spec = () => withoutRouter({ ...baseSpec(), gpu: { count: 1 } });

beforeAll(async () => {
  cluster = await startCluster({
    nodePools: [
      {
        name: 'gpu',
        count: 2,
        gpusPerNode: 8,
        gpuProduct: 'NVIDIA-H100-80GB-HBM3',
        gpuMemoryMiB: 81559,
      },
    ],
  });
  installOperatorManifests(cluster.kubeconfigPath);
  const { core } = clients(cluster.kubeconfigPath);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await createModelVolume(cluster.kubeConfig, { namespace, name: 'zimage-models' });
});

afterEach(async (context) => {
  // On failure, the operators' warnings and errors are the post-mortem.
  if (context.task.result?.state === 'fail') {
    for (const op of operators) {
      const lines = op
        .logs()
        .split('\n')
        .filter((l) => /"level":(40|50|60)/.test(l));
      console.error(
        `--- operator ${op.identity} (exit ${op.child.exitCode}) ---\n${lines.slice(-40).join('\n')}`,
      );
    }
  }
  await Promise.all(operators.map((op) => op.stop('SIGKILL')));
  operators = [];
  await proxy?.close();
  proxy = undefined;
});

afterAll(async () => {
  await cluster?.stop();
});

/**
 * After an API server restart the controller-manager, scheduler and kwok reconnect with their
 * own backoff; wait until a plain pod runs again so later tests start from a working cluster.
 */
async function controlPlaneRecovered(): Promise<void> {
  const { apps, core } = clients(cluster.kubeconfigPath);
  const name = `probe-${Date.now().toString(36)}`;
  await eventually('probe Deployment created', () =>
    apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name },
        spec: {
          selector: { matchLabels: { probe: name } },
          template: {
            metadata: { labels: { probe: name } },
            spec: {
              containers: [
                // The cluster has only GPU nodes (tainted): ask for one to be scheduled.
                {
                  name: 'c',
                  image: 'example.invalid/none:0',
                  resources: { limits: { 'nvidia.com/gpu': '1' } },
                },
              ],
            },
          },
        },
      },
    }),
  );
  await eventually(
    'the control plane running pods again',
    async () => {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: `probe=${name}` });
      return pods.items.some(isReady) ? true : undefined;
    },
    180_000,
  );
  await apps.deleteNamespacedDeployment({ name, namespace });
}

async function leaseHolder(): Promise<string | undefined> {
  const api = cluster.kubeConfig.makeApiClient(CoordinationV1Api);
  try {
    const lease = await api.readNamespacedLease({
      name: 'zimage-operator-leader',
      namespace: operatorNamespace,
    });
    return lease.spec?.holderIdentity || undefined;
  } catch {
    return undefined;
  }
}

async function leaders(): Promise<OperatorProcess[]> {
  const flags = await Promise.all(
    operators.map((op) => op.metric('zimage_operator_leader').catch(() => 0)),
  );
  return operators.filter((_op, i) => flags[i] === 1);
}

async function twoOperators(): Promise<[OperatorProcess, OperatorProcess]> {
  const kubeconfig = await operatorKubeconfig(cluster.kubeconfigPath);
  operators = [
    await startOperator(kubeconfig, { identity: 'op-a' }),
    await startOperator(kubeconfig, { identity: 'op-b' }),
  ];
  const [leader] = await eventually('one leader', async () => {
    const l = await leaders();
    return l.length === 1 ? l : undefined;
  });
  return [leader!, operators.find((op) => op !== leader)!];
}

describe('leader election', () => {
  it('lets exactly one of two operators reconcile', async () => {
    const [leader, standby] = await twoOperators();
    expect(await leaseHolder()).toBe(leader.identity);
    await zidClient(cluster.kubeConfig).create(namespace, 'one', spec());
    await waitForCondition(cluster.kubeConfig, namespace, 'one', 'Ready', 'True');
    expect(
      await leader.metric('zimage_operator_api_requests_total', { verb: 'apply' }),
    ).toBeGreaterThan(0);
    expect(await standby.metric('zimage_operator_api_requests_total', { verb: 'apply' })).toBe(0);
    expect(await standby.metric('zimage_operator_reconciles_total')).toBe(0);
  });

  it('hands over within 5 s when the leader gets SIGTERM (it releases the Lease)', async () => {
    const [leader, standby] = await twoOperators();
    const started = Date.now();
    expect(await leader.stop('SIGTERM')).toBe(0);
    await eventually(
      'the standby leads',
      async () => ((await standby.metric('zimage_operator_leader')) === 1 ? true : undefined),
      5_000,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await leaseHolder()).toBe(standby.identity);
  });

  it('takes over within 25 s when the leader is SIGKILLed', async () => {
    const [leader, standby] = await twoOperators();
    const started = Date.now();
    await leader.stop('SIGKILL');
    await eventually(
      'the standby leads',
      async () => ((await standby.metric('zimage_operator_leader')) === 1 ? true : undefined),
      25_000,
    );
    expect(Date.now() - started).toBeLessThan(25_000);
    // and it reconciles: a new object gets Ready
    await zidClient(cluster.kubeConfig).create(namespace, 'after-kill', spec());
    await waitForCondition(cluster.kubeConfig, namespace, 'after-kill', 'Ready', 'True');
  });
});

describe('API server disruption', () => {
  it('rides out an API server restart shorter than the renew deadline', async () => {
    const [leader] = await twoOperators();
    const down = Date.now();
    await cluster.restart('kube-apiserver');
    // Stop (graceful) plus start to healthy: the whole outage must stay under the 10 s renew
    // deadline, or this test would prove nothing about riding it out.
    expect(Date.now() - down).toBeLessThan(10_000);
    // Work created right after the restart is picked up by the same leader: it creates the
    // Deployment and writes status. (Pods turning Ready also needs the controller-manager,
    // scheduler and kwok to recover from the restart, which is not the operator's doing.)
    await zidClient(cluster.kubeConfig).create(namespace, 'after-restart', spec());
    const { apps } = clients(cluster.kubeconfigPath);
    await eventually(
      'the Deployment and status of after-restart',
      async () => {
        const obj = await zidClient(cluster.kubeConfig).get(namespace, 'after-restart');
        if (obj.status?.observedGeneration !== 1) return undefined;
        return apps.readNamespacedDeployment({ name: 'after-restart', namespace });
      },
      60_000,
    );
    expect(leader.child.exitCode).toBeNull();
    expect(await leader.metric('zimage_operator_leader')).toBe(1);
    await controlPlaneRecovered();
  }, 300_000);
});

describe('API server gone for longer than the renew deadline', () => {
  it('makes the leader step down and exit non-zero', async () => {
    const [leader] = await twoOperators();
    await cluster.kill('kube-apiserver');
    try {
      const code = await Promise.race([
        new Promise<number | null>((resolve) => leader.child.once('exit', resolve)),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('leader did not exit within 20 s')), 20_000),
        ),
      ]);
      expect(code).toBe(1);
      expect(leader.logs()).toContain('stepping down');
    } finally {
      await cluster.restart('kube-apiserver');
      await controlPlaneRecovered();
    }
  }, 300_000);
});

describe('watch health', () => {
  it('relists after a silently stalled watch and catches up', async () => {
    proxy = await startTcpProxy(cluster.ports.apiserver);
    const kubeconfig = await operatorKubeconfig(
      cluster.kubeconfigPath,
      `https://127.0.0.1:${proxy.port}`,
    );
    const op = await startOperator(kubeconfig, {
      env: {
        ZIMAGE_LEADER_ELECT: 'false',
        ZIMAGE_WATCHDOG_SECONDS: '3',
        ZIMAGE_REQUEST_TIMEOUT_SECONDS: '5',
      },
    });
    operators = [op];
    expect(proxy.freeze()).toBeGreaterThan(0);
    await zidClient(cluster.kubeConfig).create(namespace, 'during-stall', spec());
    await waitForCondition(
      cluster.kubeConfig,
      namespace,
      'during-stall',
      'Ready',
      'True',
      undefined,
      60_000,
    );
    expect(
      await op.metric('zimage_operator_watch_restarts_total', { reason: 'watchdog' }),
    ).toBeGreaterThan(0);
  });

  it('creates a ServiceMonitor once the monitoring CRDs are installed, without a restart', async () => {
    const kubeconfig = await operatorKubeconfig(cluster.kubeconfigPath);
    const op = await startOperator(kubeconfig, {
      env: { ZIMAGE_LEADER_ELECT: 'false', ZIMAGE_MONITORING_POLL_SECONDS: '1' },
    });
    operators = [op];
    await zidClient(cluster.kubeConfig).create(namespace, 'monitored', spec());
    await waitForCondition(cluster.kubeConfig, namespace, 'monitored', 'Ready', 'True');
    installMonitoringCrds(cluster.kubeconfigPath);
    const custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
    const read = (plural: string) =>
      custom.getNamespacedCustomObject({
        group: 'monitoring.coreos.com',
        version: 'v1',
        namespace,
        plural,
        name: 'monitored',
      });
    await eventually('a ServiceMonitor', () => read('servicemonitors'), 30_000);
    const rule = (await eventually('a PrometheusRule', () => read('prometheusrules'), 30_000)) as {
      spec: { groups: { rules: { alert: string }[] }[] };
    };
    expect(rule.spec.groups[0]!.rules.map((r) => r.alert)).toEqual([
      'ZImageGpuSaturated',
      'ZImageVramPressure',
      'ZImageSlowGeneration',
      'ZImageIdle',
    ]);
    expect(op.child.exitCode).toBeNull();
  });
});
