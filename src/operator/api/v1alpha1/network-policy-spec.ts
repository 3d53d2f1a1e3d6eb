/**
 * spec.networkPolicy: the NetworkPolicies the operator keeps for one ZImageDeployment (builders/
 * network-policy.ts). Off by default: on an upgrade, a policy would cut off every client outside
 * the object's namespace, an Ingress controller's included (it lives in a namespace of its own).
 */
import { z } from 'zod';
import {
  boundedRecord,
  cel,
  isQualifiedName,
  labelValueHint,
  labelValuePattern,
  qualifiedNameHint,
} from './schema-kit.ts';

const labelValue = z
  .string()
  .max(63)
  .meta(
    cel({ rule: `self.matches('${labelValuePattern}')`, message: `must be ${labelValueHint}` }),
  );

const requirement = z
  .object({
    key: z
      .string()
      .min(1)
      .max(317)
      .meta(
        cel({
          rule: isQualifiedName('self'),
          message: `must be a label key: ${qualifiedNameHint}`,
        }),
      )
      .describe('Label key.'),
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']).describe('How the key is matched.'),
    values: z.array(labelValue).max(16).optional().describe('Values for In and NotIn.'),
  })
  .strict()
  .meta(
    cel({
      rule: "(self.operator == 'In' || self.operator == 'NotIn') == (has(self.values) && size(self.values) > 0)",
      message: 'values must be non-empty for In and NotIn, and absent for Exists and DoesNotExist',
      fieldPath: '.values',
    }),
  );

/** A metav1.LabelSelector; `{}` selects everything (in NetworkPolicy: every pod or namespace). */
const labelSelector = (what: string) =>
  z
    .object({
      matchLabels: boundedRecord(labelValue, 16)
        .meta(
          cel({
            rule: `self.all(k, ${isQualifiedName('k')})`,
            message: `keys must be label keys: ${qualifiedNameHint}`,
          }),
        )
        .optional()
        .describe('Labels that must all match.'),
      matchExpressions: z
        .array(requirement)
        .max(16)
        .optional()
        .describe('Requirements that must all hold.'),
    })
    .strict()
    .describe(what);

/** A NetworkPolicyPeer without ipBlock (see docs/operator.md: policies add up, so add your own). */
const peer = z
  .object({
    namespaceSelector: labelSelector(
      'Namespaces whose pods may connect ({} for every namespace); with podSelector, only the pods it selects there.',
    ).optional(),
    podSelector: labelSelector(
      "Pods that may connect, in the object's namespace unless namespaceSelector is set ({} for every pod).",
    ).optional(),
  })
  .strict()
  .meta(
    cel({
      rule: 'has(self.namespaceSelector) || has(self.podSelector)',
      message: 'set namespaceSelector, podSelector or both',
    }),
  );

export const networkPolicySpec = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        "Keep NetworkPolicies for this object: the runtime pods accept connections only from its routers (or, with spec.router.enabled false, from allowFrom), the operator's pods and Prometheus (operator flags --operator-namespace, --operator-pod-labels, --prometheus-namespace-selector); the routers from allowFrom, the operator and Prometheus. Off by default: turning it on cuts off every client allowFrom does not name. Needs a network plugin that enforces NetworkPolicy.",
      ),
    allowFrom: z
      .array(peer)
      .min(1)
      .max(16)
      .optional()
      .describe(
        "Who may call the image API (the Service named like this object): NetworkPolicy peers. Unset: every pod in the object's namespace. E.g. an Ingress controller: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}}.",
      ),
  })
  .strict();

export type NetworkPolicySpec = z.infer<typeof networkPolicySpec>;
export type NetworkPeer = z.infer<typeof peer>;
