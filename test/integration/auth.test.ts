/**
 * spec.auth and spec.networkPolicy on the live fleet: real routers and runtime pods read their
 * tokens from the Secret the pod runner projects as kubelet does, and follow its rotation
 * without a restart. The fleet's pods share loopback, so nothing enforces the NetworkPolicies
 * here: the test judges the policies the API server holds against the pods' and namespaces'
 * real labels (test/support/network-policy.ts decides as a network plugin would).
 */
import fs from 'node:fs';
import type { V1Deployment, V1NetworkPolicy, V1Pod } from '@kubernetes/client-node';
import { NetworkingV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { routerSelectorLabels, selectorString } from '../../src/operator/api/v1alpha1/names.ts';
import { eventsFor, eventually, isReady } from '../support/k8s.ts';
import { fleetSpec, startTestFleet, type TestFleet } from '../support/fleet.ts';
import { admitted, type Endpoint } from '../support/network-policy.ts';

let fleet: TestFleet;
const name = 'guarded';
/** spec.auth's Secret is always `<name>-auth`. */
const secretName = `${name}-auth`;
const graceSeconds = 4;
const routerSelector = Object.entries(routerSelectorLabels(name))
  .map(([k, v]) => `${k}=${v}`)
  .join(',');
const request = { prompt: 'a locked gate', size: '64x64', steps: 1, seed: 3 };

const tokens = (client: string, pods: string) => ({
  token: `${client}\n`,
  'pod-token': `${pods}\n`,
});

beforeAll(async () => {
  fleet = await startTestFleet(`auth-${process.pid}`, { pacing: false });
  await fleet.core.createNamespacedSecret({
    namespace: fleet.namespace,
    body: { metadata: { name: secretName }, stringData: tokens('client-a', 'pod-a') },
  });
  const { router: _off, ...spec } = fleetSpec(1);
  await fleet.zid.create(fleet.namespace, name, {
    ...spec,
    router: { replicas: 1 },
    auth: { podTokenKey: 'pod-token', rotationGraceSeconds: graceSeconds },
    networkPolicy: { enabled: true },
  });
}, 240_000);
afterAll(async () => {
  await fleet?.stop();
});

const readyBy = (labelSelector: string) =>
  eventually(
    `a Ready pod ${labelSelector}`,
    async () => {
      const pods = (
        await fleet.core.listNamespacedPod({ namespace: fleet.namespace, labelSelector })
      ).items.filter((p) => !p.metadata?.deletionTimestamp);
      return pods.length === 1 && pods.every(isReady) ? pods[0] : undefined;
    },
    180_000,
  );
const router = () => readyBy(routerSelector);
const runtime = () => readyBy(selectorString(name));

async function call(pod: V1Pod, path: string, token?: string): Promise<number> {
  const res = await fetch(`http://${pod.status!.podIP!}:8080${path}`, {
    method: path === '/v1/images/generations' ? 'POST' : 'GET',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(path === '/v1/images/generations' ? { body: JSON.stringify(request) } : {}),
  });
  await res.arrayBuffer();
  return res.status;
}
const generate = (pod: V1Pod, token?: string) => call(pod, '/v1/images/generations', token);

describe('spec.auth on the live fleet', () => {
  it('the routers ask clients for the client token; the pods take only the pod token', async () => {
    const [r, p] = [await router(), await runtime()];
    expect(await generate(r)).toBe(401);
    expect(await generate(r, 'pod-a')).toBe(401);
    expect(await generate(r, 'client-a')).toBe(200);
    // Clients holding the client token cannot go around the routers.
    expect(await generate(p, 'client-a')).toBe(401);
    expect(await generate(p, 'pod-a')).toBe(200);
    // Probes and scrapes carry no token.
    for (const pod of [r, p])
      for (const path of ['/readyz', '/healthz', '/metrics'])
        expect(await call(pod, path), path).toBe(200);
  }, 300_000);

  it('a rotated Secret takes effect without a restart; the old tokens stop after the grace', async () => {
    const before = [await router(), await runtime()];
    const restarts = (pods: V1Pod[]) =>
      pods.map((p) => [p.metadata!.uid, p.status!.containerStatuses![0]!.restartCount]);
    await fleet.core.replaceNamespacedSecret({
      namespace: fleet.namespace,
      name: secretName,
      body: { metadata: { name: secretName }, stringData: tokens('client-b', 'pod-b') },
    });
    const [r, p] = before as [V1Pod, V1Pod];
    await eventually(
      'the new client token accepted',
      async () => ((await generate(r, 'client-b')) === 200 ? true : undefined),
      30_000,
    );
    await eventually(
      'the new pod token accepted',
      async () => ((await generate(p, 'pod-b')) === 200 ? true : undefined),
      30_000,
    );
    await eventually(
      'the old tokens refused once the grace is over',
      async () =>
        (await generate(r, 'client-a')) === 401 && (await generate(p, 'pod-a')) === 401
          ? true
          : undefined,
      30_000,
    );
    // Past the grace the router can only be sending pod-b, and the pod takes it.
    expect(await generate(r, 'client-b')).toBe(200);
    expect(restarts([await router(), await runtime()])).toEqual(restarts(before));
  }, 180_000);
});

describe('spec.networkPolicy on the live fleet (judged, not enforced)', () => {
  const networking = () => fleet.cluster.kubeConfig.makeApiClient(NetworkingV1Api);
  const policies = async () =>
    (await networking().listNamespacedNetworkPolicy({ namespace: fleet.namespace })).items;
  const endpoint = async (pod: V1Pod): Promise<Endpoint> => {
    const ns = await fleet.core.readNamespace({ name: pod.metadata!.namespace! });
    return {
      namespace: pod.metadata!.namespace!,
      labels: pod.metadata!.labels ?? {},
      namespaceLabels: ns.metadata?.labels ?? {},
    };
  };
  const operatorPod = parse(fs.readFileSync('deploy/base/operator.yaml', 'utf8')) as V1Deployment;

  it('admits the routers, the operator and Prometheus to the pods, the namespace to the routers', async () => {
    const held: V1NetworkPolicy[] = await eventually(
      'both NetworkPolicies',
      async () => {
        const items = await policies();
        return items.length === 2 ? items : undefined;
      },
      60_000,
    );
    expect(held.map((p) => p.metadata?.name).sort()).toEqual([name, `${name}-router`]);
    const [r, p] = [await endpoint(await router()), await endpoint(await runtime())];
    const operator: Endpoint = {
      namespace: operatorPod.metadata!.namespace!,
      labels: operatorPod.spec!.template.metadata!.labels!,
    };
    const prometheus: Endpoint = { namespace: 'monitoring', labels: { app: 'prometheus' } };
    const neighbour: Endpoint = { ...p, labels: { app: 'curious' } };
    const outsider: Endpoint = { namespace: 'elsewhere', labels: { app: 'curious' } };
    const can = (from: Endpoint, to: Endpoint) => admitted(held, from, to, 8080);
    expect(can(r, p)).toBe(true);
    expect(can(operator, p)).toBe(true);
    expect(can(prometheus, p)).toBe(true);
    expect(can(neighbour, p)).toBe(false);
    expect(can(outsider, p)).toBe(false);
    expect(can(neighbour, r)).toBe(true);
    expect(can(outsider, r)).toBe(false);
    expect(can(operator, r)).toBe(true);
    // Applied once: the cached policy reads as what the builder writes (no re-apply each pass).
    const events = await eventsFor(fleet.core, fleet.namespace, name);
    const messages = events.map((e) => e.message ?? '');
    expect(messages.some((m) => /created NetworkPolicy guarded\b/.test(m))).toBe(true);
    expect(messages.filter((m) => /updated (Router)?NetworkPolicy/.test(m))).toEqual([]);
  }, 300_000);

  it('turned off: both policies go, and no pod rolls', async () => {
    const uids = async () => [(await router()).metadata!.uid, (await runtime()).metadata!.uid];
    const before = await uids();
    await fleet.zid.patchSpec(fleet.namespace, name, { networkPolicy: { enabled: false } });
    await eventually(
      'no NetworkPolicy left',
      async () => ((await policies()).length === 0 ? true : undefined),
      60_000,
    );
    expect(await uids()).toEqual(before);
  }, 120_000);
});
