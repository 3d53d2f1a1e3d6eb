/**
 * NetworkPolicy ingress as a network plugin decides it, for the objects at hand: the local
 * fleet's pods share loopback and no plugin enforces anything there, so tests judge the
 * policies the operator renders (or the API server holds) against the labels the pods and
 * namespaces really carry. Ingress only (the operator renders no egress rules), no ipBlock.
 *
 * The rules (networking.k8s.io/v1): a pod no policy selects accepts everything; a selected pod
 * accepts a connection that some selecting policy's ingress rule admits: the rule's ports
 * (none: all) and its peers (none: all). A peer with only podSelector means pods of the
 * policy's namespace; with namespaceSelector, pods of the namespaces it selects (podSelector,
 * if present, narrows them).
 */
import type {
  V1LabelSelector,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
} from '@kubernetes/client-node';

export interface Endpoint {
  namespace: string;
  labels: Record<string, string>;
  /** The namespace's labels; kubernetes.io/metadata.name is added. */
  namespaceLabels?: Record<string, string>;
}

/** metav1.LabelSelector semantics: every matchLabels pair and every requirement. */
export function selects(selector: V1LabelSelector | undefined, labels: Record<string, string>) {
  if (!selector) return false;
  const pairs = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  return (
    pairs &&
    (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
      const has = Object.hasOwn(labels, key);
      switch (operator) {
        case 'In':
          return has && values.includes(labels[key]!);
        case 'NotIn':
          return !has || !values.includes(labels[key]!);
        case 'Exists':
          return has;
        case 'DoesNotExist':
          return !has;
        default:
          throw new Error(`unknown selector operator ${operator}`);
      }
    })
  );
}

const namespaceLabels = (e: Endpoint) => ({
  ...e.namespaceLabels,
  'kubernetes.io/metadata.name': e.namespace,
});

function peerAdmits(peer: V1NetworkPolicyPeer, policyNamespace: string, from: Endpoint) {
  if (peer.ipBlock) throw new Error('ipBlock peers are not judged here');
  if (peer.namespaceSelector) {
    if (!selects(peer.namespaceSelector, namespaceLabels(from))) return false;
    return peer.podSelector ? selects(peer.podSelector, from.labels) : true;
  }
  return from.namespace === policyNamespace && selects(peer.podSelector, from.labels);
}

/** Whether the policies (each in its own namespace) let `from` connect to `to` on `port`. */
export function admitted(
  policies: readonly V1NetworkPolicy[],
  from: Endpoint,
  to: Endpoint,
  port: number,
): boolean {
  const selecting = policies.filter(
    (p) =>
      p.metadata?.namespace === to.namespace &&
      (p.spec?.policyTypes ?? ['Ingress']).includes('Ingress') &&
      selects(p.spec?.podSelector, to.labels),
  );
  if (selecting.length === 0) return true;
  return selecting.some((p) =>
    (p.spec?.ingress ?? []).some((rule) => {
      const portOk =
        !rule.ports?.length || rule.ports.some((r) => r.port === undefined || r.port === port);
      // `_from`: the client library's name for `from`, as the builders and reads have it.
      const peers = rule._from ?? [];
      return (
        portOk && (peers.length === 0 || peers.some((peer) => peerAdmits(peer, to.namespace, from)))
      );
    }),
  );
}
