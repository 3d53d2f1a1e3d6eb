/**
 * deploy/base/admission-policy.yaml against the real API server, as the operator's own
 * ServiceAccount (a bound token, not impersonation): every write of
 * test/support/hostile-writes.ts is refused in the policy's words; every child the operator
 * builds passes, created, changed and deleted as the operator does it; and without the policy
 * RBAC alone lets the kube-system attack through. The rest of the integration suite
 * runs the operator with the policy installed (installOperatorManifests), which is the test
 * of its whole normal life.
 */
import { KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  installOperatorManifests,
  operatorKubeconfig,
  uninstallAdmissionPolicy,
} from '../../dev/operator.ts';
import { apiStatus } from '../../src/formats/api-status.ts';
import { fieldManager } from '../../src/operator/api/v1alpha1/names.ts';
import { zimageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import type { ZImageDeployment } from '../../src/operator/api/v1alpha1/types.ts';
import { childPlan } from '../../src/operator/apply-plan.ts';
import { effectiveOf } from '../../src/operator/autoscaling/decision.ts';
import { defaultRouterImage } from '../../src/operator/builders/router.ts';
import { hostileWrites, theirs } from '../support/hostile-writes.ts';
import { clients, createNamespace, eventually } from '../support/k8s.ts';
import { baseSpec } from '../support/specs.ts';
import { zidClient } from '../support/zid.ts';

const kubeconfigPath = inject('kubeconfigPath');
const { kc, core } = clients(kubeconfigPath);
const zid = zidClient(kc);
let namespace: string;
let asOperator: KubernetesObjectApi;

/** 'allowed', or the API server's message for the refused write. */
async function verdict(write: Promise<unknown>): Promise<string> {
  try {
    await write;
    return 'allowed';
  } catch (err) {
    const status = apiStatus(err);
    if (status.code === 0) throw err;
    return status.message ?? `HTTP ${status.code}`;
  }
}

const attack = hostileWrites[0]!;
const attackVerdict = () => verdict(attack.write(asOperator, namespace));

/** The API server's policy informer sees a new or deleted policy within a moment. */
const waitForAttack = (want: 'refused' | 'allowed') =>
  eventually(`the kube-system attack ${want}`, async () => {
    const got = await attackVerdict();
    return (want === 'allowed' ? got === 'allowed' : got === attack.refusal(namespace))
      ? true
      : undefined;
  });

beforeAll(async () => {
  installOperatorManifests(kubeconfigPath, { admissionPolicy: true });
  namespace = await createNamespace(core, 'vap');
  await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: theirs }, data: { owner: 'someone else' } },
  });
  const operatorConfig = new KubeConfig();
  operatorConfig.loadFromFile(await operatorKubeconfig(kubeconfigPath));
  asOperator = KubernetesObjectApi.makeApiClient(operatorConfig);
  await waitForAttack('refused');
});

afterAll(async () => {
  // The suite's own choice (ZIMAGE_ADMISSION_POLICY) for the files after this one.
  installOperatorManifests(kubeconfigPath);
  await core.deleteNamespace({ name: namespace });
});

describe('the admission policy on the operator’s ServiceAccount', () => {
  it.each(hostileWrites.map((w) => [w.name, w] as const))('refuses %s', async (_n, w) => {
    expect(await verdict(w.write(asOperator, namespace))).toBe(w.refusal(namespace));
  });

  it('lets every child the operator builds through: created, changed, deleted', async () => {
    // A real owner, so the garbage collector leaves its children be; no operator runs here.
    // With spec.auth (its Secret volume) and spec.networkPolicy (its two policies) on.
    await zid.create(namespace, 'turbo', {
      ...baseSpec(),
      auth: { podTokenKey: 'pod-token' },
      networkPolicy: { enabled: true },
    });
    const live = await zid.get(namespace, 'turbo');
    const cr: ZImageDeployment = {
      metadata: { name: 'turbo', namespace, uid: live.metadata.uid! },
      spec: zimageDeploymentSpec.parse(live.spec),
    };
    expect(cr.spec.router.enabled).toBe(true);
    const apply = (obj: Parameters<KubernetesObjectApi['patch']>[0]) =>
      verdict(
        asOperator.patch(
          obj,
          undefined,
          undefined,
          fieldManager,
          true,
          PatchStrategy.ServerSideApply,
        ),
      );
    const effective = effectiveOf(cr);
    const router = { image: defaultRouterImage };
    // In plan order: a RoleBinding's Role exists before it (the API server reads it).
    const created = childPlan(cr, effective, false, router);
    for (const { id, obj } of created) expect([id, await apply(obj)]).toEqual([id, 'allowed']);
    // The autoscaler's knobs: the ConfigMap and the Deployment change.
    const changed = childPlan(cr, { ...effective, replicas: 3, steps: 4 }, false, router);
    for (const { id, obj } of changed) expect([id, await apply(obj)]).toEqual([id, 'allowed']);
    // Router off deletes the router's children; a 422 repair deletes a small child.
    for (const { id, obj } of [...created].reverse())
      expect([id, await verdict(asOperator.delete(obj))]).toEqual([id, 'allowed']);
  });

  it('is what stops the attack: without it, the operator’s RBAC lets it through', async () => {
    uninstallAdmissionPolicy(kubeconfigPath);
    try {
      await waitForAttack('allowed');
    } finally {
      installOperatorManifests(kubeconfigPath, { admissionPolicy: true });
    }
    await waitForAttack('refused');
  });
});
