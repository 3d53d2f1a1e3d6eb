/**
 * Live config end to end: the real runtime process follows its ConfigMap on the real API server,
 * authenticated as its own ServiceAccount under exactly the Role the operator builds (get, list,
 * watch on that one ConfigMap), as in the pod. Changes apply without a restart; bad documents and
 * a deleted ConfigMap never replace the last good config.
 */
import {
  ApiException,
  RbacAuthorizationV1Api,
  type CoreV1Api,
  type V1ConfigMap,
  type V1ObjectMeta,
} from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  liveConfigKey,
  runtimeEnv,
  runtimePaths,
  type LiveConfig,
} from '../../src/contract/runtime.ts';
import { zimageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import type { ZImageDeployment } from '../../src/operator/api/v1alpha1/types.ts';
import {
  buildConfigMap,
  buildRole,
  buildRoleBinding,
  buildServiceAccount,
} from '../../src/operator/builders/children.ts';
import { childNames } from '../../src/operator/api/v1alpha1/names.ts';
import { effectiveOf } from '../../src/operator/autoscaling/decision.ts';
import { clients, createNamespace, eventually } from '../support/k8s.ts';
import { startRuntime, type RuntimeProcess } from '../../dev/runtime-process.ts';
import { serviceAccountCredentials } from '../support/service-account.ts';
import { baseSpec } from '../support/specs.ts';

const { kc, core } = clients(inject('kubeconfigPath'));
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
/** client-node's Watch ends a watch after this long without data (Watch.requestTimeoutMs). */
const watchInactivityMs = 30_000;
const allComponents = ['text_encoder', 'transformer', 'vae_decoder'];
/**
 * The env says 9 steps and offload none; the ConfigMap's values must win from the first request
 * on, and the sessions must be created in its offload mode (no switch after start-up).
 */
const first: LiveConfig = { steps: 3, offload: 'model' };

let namespace: string;
let cr: ZImageDeployment;
let runtime: RuntimeProcess;
/** The runtime ServiceAccount's client, to probe its RBAC from outside the process. */
let asRuntime: CoreV1Api;
let startedAt: number;

const names = () => childNames(cr.metadata.name);

/**
 * A child as the operator builds it, minus the owner reference: no ZImageDeployment exists here
 * (no operator runs), and the garbage collector deletes children whose owner is gone.
 */
function standalone<T extends { metadata?: V1ObjectMeta }>(object: T): T {
  const { ownerReferences: _owner, ...metadata } = object.metadata ?? {};
  return { ...object, metadata };
}

function configMap(live: LiveConfig, data?: Record<string, string>): V1ConfigMap {
  const built = standalone(buildConfigMap(cr, { ...effectiveOf(cr), ...live }));
  return data ? { ...built, data } : built;
}

async function putConfigMap(body: V1ConfigMap): Promise<void> {
  await core.replaceNamespacedConfigMap({ name: names().configMap, namespace, body });
}

async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
}

/** Sum of a metric's samples whose labels include `labels` (0 when it has none yet). */
async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await runtime.get(runtimePaths.metrics)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{.*\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const set = match[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) {
      total += Number(match[3]);
    }
  }
  return total;
}

/** The steps a request without `steps` gets: what the runtime holds as live config now. */
async function defaultSteps(): Promise<number> {
  const res = await runtime.post(runtimePaths.generate, {
    prompt: 'a red fox in snow',
    size: '64x64',
    seed: 1,
  });
  const body = (await res.json()) as { steps?: number };
  if (res.status !== 200) throw new Error(`generation: ${res.status} ${JSON.stringify(body)}`);
  return body.steps ?? Number.NaN;
}

interface Ready {
  status: string;
  engine: { offload: string; steps: number; resident: string[] };
}

async function readyz(): Promise<{ code: number; body: Ready }> {
  const res = await runtime.get(runtimePaths.readyz);
  return { code: res.status, body: (await res.json()) as Ready };
}

/** The runtime serves `live` now: requests, /readyz and zimage_config_info agree. */
async function expectServing(live: LiveConfig): Promise<void> {
  expect(await defaultSteps()).toBe(live.steps);
  const { code, body } = await readyz();
  expect(code).toBe(200);
  expect(body.engine).toMatchObject({ steps: live.steps, offload: live.offload });
  expect(body.engine.resident).toEqual(live.offload === 'model' ? [] : allComponents);
  const info = { steps: String(live.steps), offload: live.offload };
  expect(await metric('zimage_config_info', info)).toBe(1);
}

/** Wait for the watch to deliver `live` (an offload switch also rebuilds sessions), then check. */
async function expectFollowed(live: LiveConfig): Promise<void> {
  await eventually(`the runtime serving ${JSON.stringify(live)}`, async () => {
    const { body } = await readyz();
    return body.engine.offload === live.offload && (await defaultSteps()) === live.steps
      ? true
      : undefined;
  });
  await expectServing(live);
  await expectNoRestart();
}

/** Same process as at the start: alive, and prom-client's start time unchanged. */
async function expectNoRestart(): Promise<void> {
  expect(runtime.proc.alive()).toBe(true);
  expect(await metric('zimage_process_start_time_seconds')).toBe(startedAt);
}

beforeAll(async () => {
  namespace = await createNamespace(core, 'live-config');
  cr = {
    metadata: { name: 'turbo', namespace, uid: 'no-such-owner' },
    spec: zimageDeploymentSpec.parse(baseSpec()),
  };
  await core.createNamespacedServiceAccount({
    namespace,
    body: standalone(buildServiceAccount(cr)),
  });
  await rbac.createNamespacedRole({ namespace, body: standalone(buildRole(cr)) });
  await rbac.createNamespacedRoleBinding({ namespace, body: standalone(buildRoleBinding(cr)) });
  await core.createNamespacedConfigMap({ namespace, body: configMap(first) });
  await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: 'unrelated' }, data: { password: 'not for the runtime' } },
  });

  const sa = await serviceAccountCredentials(kc, { namespace, name: names().serviceAccount });
  asRuntime = sa.core;
  // The authorizer sees the new binding within a moment; start the runtime once it does, so
  // its first read (before the sessions) is the ConfigMap's.
  await eventually('the Role applies to the ServiceAccount', async () =>
    (await statusOf(asRuntime.readNamespacedConfigMap({ name: names().configMap, namespace }))) ===
    200
      ? true
      : undefined,
  );
  runtime = await startRuntime({
    env: {
      KUBECONFIG: sa.kubeconfigPath,
      [runtimeEnv.configMap]: names().configMap,
      [runtimeEnv.namespace]: namespace,
      [runtimeEnv.steps]: '9',
      [runtimeEnv.offload]: 'none',
    },
  });
  startedAt = await metric('zimage_process_start_time_seconds');
});

afterAll(async () => {
  await runtime?.stop();
  if (namespace) await core.deleteNamespace({ name: namespace });
});

describe("the runtime's ServiceAccount (the operator's Role)", () => {
  const own = () => ({ name: names().configMap, namespace });
  it.each([
    { name: 'gets its ConfigMap', code: 200, call: () => asRuntime.readNamespacedConfigMap(own()) },
    {
      name: 'lists its ConfigMap by name (how the runtime reads it)',
      code: 200,
      call: () =>
        asRuntime.listNamespacedConfigMap({
          namespace,
          fieldSelector: `metadata.name=${own().name}`,
        }),
    },
    {
      name: 'gets another ConfigMap',
      code: 403,
      call: () => asRuntime.readNamespacedConfigMap({ name: 'unrelated', namespace }),
    },
    {
      name: 'lists every ConfigMap',
      code: 403,
      call: () => asRuntime.listNamespacedConfigMap({ namespace }),
    },
    {
      name: 'changes its ConfigMap',
      code: 403,
      call: () =>
        asRuntime.replaceNamespacedConfigMap({
          ...own(),
          body: configMap({ steps: 50, offload: 'cpu' }),
        }),
    },
    { name: 'lists Secrets', code: 403, call: () => asRuntime.listNamespacedSecret({ namespace }) },
  ])('$name: HTTP $code', async ({ call, code }) => {
    expect(await statusOf(call())).toBe(code);
  });
});

describe('live config', () => {
  it("starts with the ConfigMap's values, not the env's", async () => {
    await expectServing(first);
    await expectNoRestart();
    expect(runtime.proc.tail(1_000)).not.toContain('offload mode applied');
  });

  // In order: each row starts from the previous one's config.
  it.each<[string, LiveConfig]>([
    ['steps 3 -> 6', { steps: 6, offload: 'model' }],
    ['offload model -> none (sessions created)', { steps: 6, offload: 'none' }],
    ['offload none -> model (sessions released)', { steps: 6, offload: 'model' }],
  ])('follows a change without a restart: %s', async (_name, live) => {
    await putConfigMap(configMap(live));
    await expectFollowed(live);
  });

  const lastGood: LiveConfig = { steps: 6, offload: 'model' };
  it.each([
    { name: 'steps out of range', reason: 'invalid_config', doc: '{"steps":500,"offload":"none"}' },
    {
      name: 'an unknown offload mode',
      reason: 'invalid_config',
      doc: '{"steps":7,"offload":"disk"}',
    },
    { name: 'an extra key', reason: 'invalid_config', doc: '{"steps":7,"offload":"none","x":1}' },
    { name: 'not JSON', reason: 'invalid_json', doc: 'steps: 7' },
    { name: 'no config.json', reason: 'missing_key', doc: undefined },
  ])('keeps the last good config on $name ($reason)', async ({ reason, doc }) => {
    const before = await metric('zimage_config_errors_total', { reason });
    const data = doc === undefined ? { 'config.yaml': 'steps: 7' } : { [liveConfigKey]: doc };
    await putConfigMap(configMap(lastGood, data));
    await eventually(`zimage_config_errors_total{reason="${reason}"} to count it`, async () =>
      (await metric('zimage_config_errors_total', { reason })) > before ? true : undefined,
    );
    await expectServing(lastGood);
    await expectNoRestart();
  });

  it('keeps the last good config when the ConfigMap is deleted', async () => {
    const before = await metric('zimage_config_errors_total', { reason: 'missing' });
    await core.deleteNamespacedConfigMap({ name: names().configMap, namespace });
    await eventually('zimage_config_errors_total{reason="missing"} to count it', async () =>
      (await metric('zimage_config_errors_total', { reason: 'missing' })) > before
        ? true
        : undefined,
    );
    await expectServing(lastGood);
    await expectNoRestart();
  });

  it('follows a recreated ConfigMap', async () => {
    const live: LiveConfig = { steps: 4, offload: 'none' };
    await core.createNamespacedConfigMap({ namespace, body: configMap(live) });
    await expectFollowed(live);
  });

  it("follows a change after a quiet spell longer than client-node's watch timeout", async () => {
    const unreadable = await metric('zimage_config_errors_total', { reason: 'unreadable' });
    // client-node ends a watch after 30 s without data; the runtime must list and watch again
    // (and not count that routine end as an error), or every later change is lost.
    await sleep(watchInactivityMs + 3_000);
    const live: LiveConfig = { steps: 5, offload: 'model' };
    await putConfigMap(configMap(live));
    await expectFollowed(live);
    expect(await metric('zimage_config_errors_total', { reason: 'unreadable' })).toBe(unreadable);
  });
});
