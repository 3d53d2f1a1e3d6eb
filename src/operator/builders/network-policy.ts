/**
 * spec.networkPolicy: who may open a connection to the runtime pods and to the routers.
 *
 * - runtime pods (`<name>`): its routers (with the router off: the clients, allowFrom), the
 *   operator's pods (its direct scrapes of /metrics) and Prometheus (the ServiceMonitor's);
 * - routers (`<name>-router`): the clients (allowFrom, default the object's namespace), the
 *   operator and Prometheus (both scrape the routers' /metrics too).
 *
 * Ingress only, on the one port both serve; egress stays open (the pods reach the API server,
 * the routers the pods). Kubelet's probes come from the node, which the common network plugins
 * (Calico, Cilium) admit whatever a policy says. NetworkPolicies add up: a policy of the user's
 * that admits more (an ipBlock, a monitoring agent) works beside these.
 */
import type { V1NetworkPolicy, V1NetworkPolicyPeer, V1ObjectMeta } from '@kubernetes/client-node';
import { runtimePort } from '../../contract/runtime.ts';
import type { ZImageDeployment } from '../api/v1alpha1/types.ts';
import {
  childNames,
  routerLabels,
  routerNames,
  routerSelectorLabels,
  selectorLabels,
} from '../api/v1alpha1/names.ts';
import { childMeta } from './owner.ts';

/** The label every namespace carries with its own name (Kubernetes 1.22+). */
export const namespaceNameLabel = 'kubernetes.io/metadata.name';

/** Where the operator's pods and Prometheus run: operator flags (config.ts). */
export interface PolicyPeers {
  operator: { namespace: string; podLabels: Record<string, string> };
  /** Labels of the namespaces Prometheus runs in; undefined: Prometheus is not admitted. */
  prometheusNamespaces: Record<string, string> | undefined;
}

/** deploy/base/operator.yaml's namespace and pod labels; kube-prometheus's namespace. */
export const defaultPolicyPeers: PolicyPeers = {
  operator: {
    namespace: 'zimage-system',
    podLabels: { 'app.kubernetes.io/name': 'zimage-operator' },
  },
  prometheusNamespaces: { [namespaceNameLabel]: 'monitoring' },
};

const ports = [{ protocol: 'TCP', port: runtimePort }];

/** The operator and Prometheus: they scrape /metrics of both the runtime pods and the routers. */
function scrapers(peers: PolicyPeers): V1NetworkPolicyPeer[][] {
  const { operator, prometheusNamespaces } = peers;
  return [
    [
      {
        namespaceSelector: { matchLabels: { [namespaceNameLabel]: operator.namespace } },
        podSelector: { matchLabels: operator.podLabels },
      },
    ],
    ...(prometheusNamespaces
      ? [[{ namespaceSelector: { matchLabels: prometheusNamespaces } }]]
      : []),
  ];
}

/** spec.networkPolicy.allowFrom; unset: every pod of the object's namespace. */
function clients(cr: ZImageDeployment): V1NetworkPolicyPeer[] {
  // zod's optional fields admit undefined where the client's types do not; JSON drops both.
  return (
    (cr.spec.networkPolicy.allowFrom as V1NetworkPolicyPeer[] | undefined) ?? [{ podSelector: {} }]
  );
}

function policy(
  metadata: V1ObjectMeta,
  pods: Record<string, string>,
  from: V1NetworkPolicyPeer[][],
): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata,
    spec: {
      podSelector: { matchLabels: pods },
      policyTypes: ['Ingress'],
      // `_from`: the client library's name for `from` (a reserved word). Its serializer sends
      // only the fields it knows, so a rule written with `from` would go out with no peers,
      // which in a NetworkPolicy admits every source.
      ingress: from.map((peers) => ({ _from: peers, ports })),
    },
  };
}

/** The runtime pods: the routers (or, without them, the clients), the operator, Prometheus. */
export function buildRuntimeNetworkPolicy(
  cr: ZImageDeployment,
  peers: PolicyPeers,
): V1NetworkPolicy {
  const name = cr.metadata.name;
  const callers = cr.spec.router.enabled
    ? [{ podSelector: { matchLabels: routerSelectorLabels(name) } }]
    : clients(cr);
  return policy(childMeta(cr, childNames(name).networkPolicy), selectorLabels(name), [
    callers,
    ...scrapers(peers),
  ]);
}

/** The routers: the clients, the operator, Prometheus. */
export function buildRouterNetworkPolicy(
  cr: ZImageDeployment,
  peers: PolicyPeers,
): V1NetworkPolicy {
  const name = cr.metadata.name;
  return policy(
    childMeta(cr, routerNames(name).networkPolicy, routerLabels(name)),
    routerSelectorLabels(name),
    [clients(cr), ...scrapers(peers)],
  );
}
