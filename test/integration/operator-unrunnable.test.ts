/**
 * Specs and situations the API server accepts but that cannot run (test/support/unrunnable-
 * specs.ts), against the real control plane and the real operator under its own RBAC: each
 * ends in a clear status, costs a few reconciles a minute, and a healthy object patched into
 * a refused spec keeps its pods.
 */
import {
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createModelVolume } from '../../dev/volumes.ts';
import { clients, eventsFor, eventually, isReady } from '../support/k8s.ts';
import { startTestOperator, type OperatorProcess } from '../support/operator.ts';
import { baseSpec } from '../support/specs.ts';
import { withoutRouter } from '../../dev/specs.ts';
import { unrunnableSpecs, type CaseEnv } from '../support/unrunnable-specs.ts';
import { condition, waitForCondition, zidClient } from '../support/zid.ts';
import { keyOf } from '../../src/contract/object-key.ts';

const kubeconfigPath = inject('kubeconfigPath');
const { kc, core, apps } = clients(kubeconfigPath);
const zid = zidClient(kc);
const suffix = Math.random().toString(36).slice(2, 7);
const placed = unrunnableSpecs.map((c, i) => ({
  c,
  env: { kc, namespace: `unrun-${i}-${suffix}`, name: 'turbo' } satisfies CaseEnv,
}));
const healthyNs = `unrun-healthy-${suffix}`;
const cleanups: (() => Promise<void>)[] = [];
let op: OperatorProcess;

async function namespaceWithModels(namespace: string): Promise<void> {
  // Runtime pods must pass Pod Security "restricted" wherever they land.
  await core.createNamespace({
    body: {
      metadata: { name: namespace, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
    },
  });
  await createModelVolume(kc, { namespace, name: 'zimage-models' });
}

const gvr = { group: 'zimage.dev', version: 'v1alpha1', plural: 'zimagedeployments' } as const;
const custom = kc.makeApiClient(CustomObjectsApi);

/** Replace the whole spec (a merge patch cannot drop what the previous spec added). */
function replaceSpec(namespace: string, name: string, spec: unknown) {
  return custom.patchNamespacedCustomObject(
    { ...gvr, namespace, name, body: [{ op: 'replace', path: '/spec', value: spec }] },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
}

/** Touch the object's metadata: an update event for the operator, no new generation. */
function poke(namespace: string, name: string) {
  return custom.patchNamespacedCustomObject(
    {
      ...gvr,
      namespace,
      name,
      body: { metadata: { annotations: { 'test.zimage.dev/poke': String(Date.now()) } } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** Events on the ZImageDeployment itself (not on its same-named Service or Deployment). */
async function ownEvents(namespace: string, name: string) {
  return (await eventsFor(core, namespace, name)).filter(
    (e) => e.involvedObject.kind === 'ZImageDeployment',
  );
}

/** Reconcile log lines per object key since `from` (the operator logs one per reconcile). */
function reconcilesSince(from: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of op.logs().slice(from).split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string; key?: string };
    if (!entry.key) continue;
    if (entry.msg === 'reconciled' || entry.msg === 'reconcile failed; retrying with backoff')
      counts.set(entry.key, (counts.get(entry.key) ?? 0) + 1);
  }
  return counts;
}

beforeAll(async () => {
  // Debug: one "reconciled" line per reconcile, the per-object signal the rate test counts.
  op = await startTestOperator(kubeconfigPath, {
    env: { ZIMAGE_LOG_LEVEL: 'debug' },
  });
  await Promise.all([
    namespaceWithModels(healthyNs),
    ...placed.map(async ({ c, env }) => {
      await namespaceWithModels(env.namespace);
      const cleanup = await c.setup?.(env);
      if (cleanup) cleanups.push(cleanup);
      await zid.create(env.namespace, env.name, c.spec(withoutRouter(baseSpec())));
    }),
  ]);
}, 300_000);

afterAll(async () => {
  await op?.stop();
  for (const cleanup of cleanups) await cleanup();
  await Promise.all(
    [healthyNs, ...placed.map((p) => p.env.namespace)].map((name) =>
      core.deleteNamespace({ name }).catch(() => undefined),
    ),
  );
});

describe('specs the API server accepts but that cannot run', () => {
  it.each(placed.map((p) => [p.c.name, p.c.reason, p] as const))(
    '%s -> Ready=False (%s), named, with an Event',
    async (_n, reason, { c, env }) => {
      const obj = await waitForCondition(
        kc,
        env.namespace,
        env.name,
        'Ready',
        'False',
        reason,
        90_000,
      );
      const ready = condition(obj, 'Ready')!;
      for (const word of c.words(env)) expect(ready.message).toContain(word);
      expect(ready.message).not.toMatch(/HTTP-Code/);
      expect(obj.status?.observedGeneration).toBe(obj.metadata.generation);
      expect(condition(obj, 'Progressing')).toMatchObject({ status: 'False', reason });
      const event = await eventually('the Warning Event', async () =>
        (await ownEvents(env.namespace, env.name)).find((e) => e.reason === reason),
      );
      expect(event.type).toBe('Warning');
      expect(event.message).toBe(ready.message.slice(0, 1024));
    },
  );

  it('costs a few reconciles a minute each, and no status or Event churn', async () => {
    const windowMs = 20_000;
    const applies = () => op.metric('zimage_operator_api_requests_total', { verb: 'apply' });
    const appliesBefore = await applies();
    const from = op.logs().length;
    // A metadata change is an update event: every object gets (at least) one reconcile in the
    // window, the positive signal that the count below comes from a live operator.
    const marked = await Promise.all(
      placed.map(async ({ env }) => {
        await poke(env.namespace, env.name);
        const after = await zid.get(env.namespace, env.name);
        const events = (await ownEvents(env.namespace, env.name)).length;
        return { env, rv: after.metadata.resourceVersion, events };
      }),
    );
    await new Promise((r) => setTimeout(r, windowMs)); // the measurement window
    const counts = reconcilesSince(from);
    for (const { env, rv, events } of marked) {
      const key = keyOf(env);
      // 1 for the poke, at most 1 recheck (60 s) and 1 for a Deployment or pod change;
      // the backoff queue's hot retries would make it ~12 in 20 s (5 ms doubling).
      expect(counts.get(key) ?? 0, key).toBeGreaterThanOrEqual(1);
      expect(counts.get(key) ?? 0, key).toBeLessThanOrEqual(3);
      const now = await zid.get(env.namespace, env.name);
      expect(now.metadata.resourceVersion, `${key} status rewritten`).toBe(rv);
      expect((await ownEvents(env.namespace, env.name)).length, `${key} events`).toBe(events);
    }
    // At most one apply a minute per refused child: a 20 s window holds at most one recheck each.
    const refused = placed.filter((p) => p.c.reason === 'ChildRejected').length;
    expect((await applies()) - appliesBefore).toBeLessThanOrEqual(refused);
  });
});

describe('a healthy object patched into a refused spec', () => {
  const name = 'healthy';
  const healthySpec = () => ({
    ...withoutRouter(baseSpec()),
    gpu: { memoryGiB: 16, nodeSelector: { 'nvidia.com/gpu.memory': '16384' } },
  });
  const pods = async () =>
    (
      await core.listNamespacedPod({
        namespace: healthyNs,
        labelSelector: `app.kubernetes.io/instance=${name}`,
      })
    ).items;
  const uids = (list: V1Pod[]) => list.map((p) => p.metadata!.uid).sort();

  it('gets Ready without a Warning Event on the way (the RoleBinding waits for its Role)', async () => {
    await zid.create(healthyNs, name, healthySpec());
    await waitForCondition(kc, healthyNs, name, 'Ready', 'True', undefined, 90_000);
    const warnings = (await ownEvents(healthyNs, name)).filter((e) => e.type === 'Warning');
    expect(warnings.map((e) => `${e.reason}: ${e.message}`)).toEqual([]);
    // The positive side: the operator did record what it created.
    expect((await ownEvents(healthyNs, name)).map((e) => e.reason)).toContain('Created');
  });

  it.each(unrunnableSpecs.filter((c) => c.keepsPods).map((c) => [c.name, c] as const))(
    '%s: keeps its running pods and says why',
    async (_n, c) => {
      await waitForCondition(kc, healthyNs, name, 'Ready', 'True', undefined, 90_000);
      const before = await pods();
      expect(before.filter(isReady)).toHaveLength(1);
      const deployment = await apps.readNamespacedDeployment({ name, namespace: healthyNs });

      await replaceSpec(healthyNs, name, c.spec(healthySpec()));
      const refused = await eventually('Ready=False for the new generation', async () => {
        const obj = await zid.get(healthyNs, name);
        const ready = condition(obj, 'Ready');
        return obj.status?.observedGeneration === obj.metadata.generation &&
          ready?.reason === 'ChildRejected'
          ? ready
          : undefined;
      });
      for (const word of c.words({ kc, namespace: healthyNs, name }))
        expect(refused.message).toContain(word);
      expect(refused.message).toContain('keeps its last applied spec (1/1 pods ready)');
      const after = await pods();
      expect(uids(after)).toEqual(uids(before));
      expect(after.every(isReady)).toBe(true);
      expect(
        (await apps.readNamespacedDeployment({ name, namespace: healthyNs })).metadata?.generation,
      ).toBe(deployment.metadata?.generation);

      await replaceSpec(healthyNs, name, healthySpec());
      const back = await waitForCondition(kc, healthyNs, name, 'Ready', 'True');
      expect(back.status?.observedGeneration).toBe(back.metadata.generation);
      expect(uids(await pods())).toEqual(uids(before));
    },
  );
});
