/**
 * spec.networkPolicy: the rendered policies judged against the labels the pods really carry
 * (the pod templates the builders render, deploy/base/operator.yaml's operator pods), since the local
 * fleet has no network plugin to enforce them (test/support/network-policy.ts decides as one
 * would). Also: the plan holds the policies only while on, before the pods they fence, and
 * turning them off deletes only ours.
 */
import fs from 'node:fs';
import type { KubernetesObject, V1Deployment, V1NetworkPolicy } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runtimePort } from '../../src/contract/runtime.ts';
import { zimageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import type { ZImageDeployment } from '../../src/operator/api/v1alpha1/types.ts';
import { childPlan } from '../../src/operator/apply-plan.ts';
import { effectiveOf } from '../../src/operator/autoscaling/decision.ts';
import { buildDeployment } from '../../src/operator/builders/deployment.ts';
import {
  defaultPolicyPeers,
  type PolicyPeers,
} from '../../src/operator/builders/network-policy.ts';
import { buildRouterDeployment, defaultRouterImage } from '../../src/operator/builders/router.ts';
import { trimNetworkPolicy } from '../../src/operator/k8s/cached.ts';
import { leftovers } from '../../src/operator/router-prune.ts';
import { admitted, type Endpoint } from '../support/network-policy.ts';
import { baseSpec } from '../support/specs.ts';

const image = { image: defaultRouterImage };

function cr(spec: Record<string, unknown> = {}, name = 'turbo', uid = 'u-1'): ZImageDeployment {
  return {
    metadata: { name, namespace: 'ml', uid },
    spec: zimageDeploymentSpec.parse({ ...baseSpec(), ...spec }),
  };
}
const fenced = (more: Record<string, unknown> = {}) =>
  cr({ networkPolicy: { enabled: true, ...more } });

const policiesOf = (z: ZImageDeployment, peers?: PolicyPeers) =>
  childPlan(z, effectiveOf(z), false, image, peers)
    .filter((c) => c.kind === 'NetworkPolicy')
    .map((c) => c.obj as V1NetworkPolicy);

/** A pod as its Deployment's template labels it, in the object's namespace. */
const podOf = (d: V1Deployment, namespace = 'ml'): Endpoint => ({
  namespace,
  labels: d.spec!.template.metadata!.labels!,
});
const runtimeOf = (z: ZImageDeployment) => podOf(buildDeployment(z, effectiveOf(z)));
const routerOf = (z: ZImageDeployment) => podOf(buildRouterDeployment(z, image));

/** The operator's pods exactly as deploy/base/operator.yaml runs them. */
const operatorManifest = parse(
  fs.readFileSync('deploy/base/operator.yaml', 'utf8'),
) as V1Deployment;
const operatorPod: Endpoint = podOf(operatorManifest, operatorManifest.metadata!.namespace);
const prometheusPod: Endpoint = {
  namespace: 'monitoring',
  labels: { 'app.kubernetes.io/name': 'prometheus' },
};
const stranger = (namespace: string, labels: Record<string, string> = { app: 'x' }) => ({
  namespace,
  labels,
});

describe('NetworkPolicies against the pods they are for', () => {
  const z = fenced();
  const policies = policiesOf(z);
  const canary = cr({ networkPolicy: { enabled: true } }, 'turbo-canary', 'u-2');
  const can = (from: Endpoint, to: Endpoint, port = runtimePort) =>
    admitted([...policies, ...policiesOf(canary)], from, to, port);

  it('defaults the operator peer to deploy/base/operator.yaml: its namespace and pod labels', () => {
    expect(operatorPod.namespace).toBe(defaultPolicyPeers.operator.namespace);
    expect(operatorPod.labels).toMatchObject(defaultPolicyPeers.operator.podLabels);
  });

  it.each<[string, () => Endpoint, () => Endpoint, boolean]>([
    ['its routers reach the runtime pods', () => routerOf(z), () => runtimeOf(z), true],
    ["another object's routers do not", () => routerOf(canary), () => runtimeOf(z), false],
    [
      'a pod of the namespace does not reach the runtime pods',
      () => stranger('ml'),
      () => runtimeOf(z),
      false,
    ],
    ['a runtime pod does not reach another', () => runtimeOf(z), () => runtimeOf(z), false],
    ['a pod of the namespace reaches the routers', () => stranger('ml'), () => routerOf(z), true],
    ['a pod of another namespace does not', () => stranger('other'), () => routerOf(z), false],
    ['the operator scrapes the runtime pods', () => operatorPod, () => runtimeOf(z), true],
    ['the operator scrapes the routers', () => operatorPod, () => routerOf(z), true],
    [
      "another pod of the operator's namespace does not",
      () => stranger(operatorPod.namespace),
      () => runtimeOf(z),
      false,
    ],
    [
      "a pod with the operator's labels elsewhere does not",
      () => stranger('ml', operatorPod.labels),
      () => runtimeOf(z),
      false,
    ],
    ['Prometheus scrapes the runtime pods', () => prometheusPod, () => runtimeOf(z), true],
    ['Prometheus scrapes the routers', () => prometheusPod, () => routerOf(z), true],
  ])('%s', (_name, from, to, want) => {
    expect(can(from(), to())).toBe(want);
  });

  it('opens no other port', () => {
    expect(can(routerOf(z), runtimeOf(z), 9090)).toBe(false);
    expect(can(stranger('ml'), routerOf(z), 22)).toBe(false);
  });

  it('leaves pods of objects without policies alone', () => {
    const open = cr({}, 'open', 'u-3');
    expect(policiesOf(open)).toEqual([]);
    expect(can(stranger('other'), runtimeOf(open))).toBe(true);
  });
});

describe('allowFrom, the router off, and the operator flags', () => {
  it('admits the clients allowFrom names, and only those', () => {
    const z = fenced({
      allowFrom: [
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
        { podSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }] } },
      ],
    });
    const policies = policiesOf(z);
    const ingress = stranger('ingress-nginx', { 'app.kubernetes.io/name': 'ingress-nginx' });
    expect(admitted(policies, ingress, routerOf(z), runtimePort)).toBe(true);
    expect(admitted(policies, stranger('ml', { team: 'a' }), routerOf(z), runtimePort)).toBe(true);
    expect(admitted(policies, stranger('ml', { team: 'b' }), routerOf(z), runtimePort)).toBe(false);
    // Clients reach the routers, never the pods behind them.
    expect(admitted(policies, ingress, runtimeOf(z), runtimePort)).toBe(false);
  });

  it('with the router off, fences the runtime pods alone and admits the clients to them', () => {
    const z = cr({ router: { enabled: false }, networkPolicy: { enabled: true } });
    const policies = policiesOf(z);
    expect(policies.map((p) => p.metadata?.name)).toEqual(['turbo']);
    expect(admitted(policies, stranger('ml'), runtimeOf(z), runtimePort)).toBe(true);
    expect(admitted(policies, stranger('other'), runtimeOf(z), runtimePort)).toBe(false);
    expect(admitted(policies, operatorPod, runtimeOf(z), runtimePort)).toBe(true);
  });

  it('follows --operator-namespace, --operator-pod-labels and --prometheus-namespace-selector', () => {
    const z = fenced();
    const peers: PolicyPeers = {
      operator: { namespace: 'ops', podLabels: { app: 'zop' } },
      prometheusNamespaces: undefined,
    };
    const policies = policiesOf(z, peers);
    expect(admitted(policies, stranger('ops', { app: 'zop' }), runtimeOf(z), runtimePort)).toBe(
      true,
    );
    expect(admitted(policies, operatorPod, runtimeOf(z), runtimePort)).toBe(false);
    expect(admitted(policies, prometheusPod, routerOf(z), runtimePort)).toBe(false);
  });
});

describe('policies in the plan and after', () => {
  const ids = (z: ZImageDeployment) =>
    childPlan(z, effectiveOf(z), false, image).map((c) => [c.id, c.obj.metadata?.name, c.needs]);

  it('plans both policies, each before the Deployment whose pods it fences', () => {
    const plan = ids(fenced());
    expect(plan).toContainEqual(['NetworkPolicy', 'turbo', []]);
    expect(plan).toContainEqual(['RouterNetworkPolicy', 'turbo-router', []]);
    const needs = (id: string) => plan.find(([i]) => i === id)![2] as string[];
    expect(needs('Deployment')).toContain('NetworkPolicy');
    expect(needs('RouterDeployment')).toContain('RouterNetworkPolicy');
    const owner = policiesOf(fenced())[0]!.metadata!.ownerReferences![0]!;
    expect(owner).toMatchObject({ kind: 'ZImageDeployment', name: 'turbo', controller: true });
  });

  it('plans none while off (the default)', () => {
    expect(ids(cr()).filter(([id]) => String(id).includes('NetworkPolicy'))).toEqual([]);
  });

  it('deletes the policies once turned off, only ours, and the router one with the router', () => {
    const owner = (uid: string) => ({
      apiVersion: 'zimage.dev/v1alpha1',
      kind: 'ZImageDeployment',
      name: 'turbo',
      controller: true,
      uid,
    });
    const ours = { ownerReferences: [owner('u-1')] };
    const cache: Record<string, KubernetesObject> = {
      'NetworkPolicy/turbo': { metadata: { name: 'turbo', ...ours } },
      'NetworkPolicy/turbo-router': {
        metadata: { name: 'turbo-router', ownerReferences: [owner('other')] },
      },
    };
    const get = (kind: string, _ns: string, name: string) => cache[`${kind}/${name}`];
    const gone = (z: ZImageDeployment) =>
      leftovers(z, get).map((o) => `${o.apiVersion} ${o.kind} ${o.metadata?.name}`);
    expect(gone(cr())).toEqual(['networking.k8s.io/v1 NetworkPolicy turbo']);
    expect(gone(fenced())).toEqual([]);
    cache['NetworkPolicy/turbo-router'] = { metadata: { name: 'turbo-router', ...ours } };
    expect(gone(cr({ router: { enabled: false }, networkPolicy: { enabled: true } }))).toEqual([
      'networking.k8s.io/v1 NetworkPolicy turbo-router',
    ]);
    // Both parts off: the router's policy is deleted once.
    expect(gone(cr({ router: { enabled: false } }))).toEqual([
      'networking.k8s.io/v1 NetworkPolicy turbo-router',
      'networking.k8s.io/v1 NetworkPolicy turbo',
    ]);
  });

  it("caches a watched policy (JSON's `from`) in the shape the builders write (`_from`)", () => {
    const built = policiesOf(fenced())[0]!;
    const wire = JSON.parse(
      JSON.stringify(built).replaceAll('"_from"', '"from"'),
    ) as KubernetesObject;
    expect(trimNetworkPolicy(wire)).toEqual(built);
    expect(trimNetworkPolicy(built)).toEqual(built);
  });
});
