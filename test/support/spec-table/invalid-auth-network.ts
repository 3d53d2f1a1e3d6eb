/** Invalid rows for spec.auth and spec.networkPolicy: names, keys, peers and label selectors. */
import { baseSpec, type InvalidCase } from './builders.ts';

export const withAuth =
  (auth: Record<string, unknown>, more: Record<string, unknown> = {}) =>
  () => ({
    ...baseSpec(),
    auth,
    ...more,
  });
export const withPeers = (allowFrom: unknown) => () => ({
  ...baseSpec(),
  networkPolicy: { enabled: true, allowFrom },
});

export const invalidAuthAndNetwork: InvalidCase[] = [
  {
    name: 'auth naming its own Secret (it is always <name>-auth)',
    spec: withAuth({ secretName: 'tokens' }),
    field: 'spec.auth',
    apiField: 'spec.auth.secretName',
  },
  {
    name: "a token key starting with '..' (kubelet's own ..data)",
    spec: withAuth({ clientTokenKey: '..data' }),
    field: 'spec.auth.clientTokenKey',
  },
  {
    name: 'a token key with a slash',
    spec: withAuth({ podTokenKey: 'pods/token' }),
    field: 'spec.auth.podTokenKey',
  },
  {
    name: 'a pod token without the router',
    spec: withAuth({ podTokenKey: 'pod-token' }, { router: { enabled: false } }),
    field: 'spec.auth.podTokenKey',
    message: 'podTokenKey is the token the routers send to the runtime pods',
  },
  {
    name: 'rotation grace past an hour',
    spec: withAuth({ rotationGraceSeconds: 3_601 }),
    field: 'spec.auth.rotationGraceSeconds',
  },
  {
    name: 'a token written into the spec instead of a Secret',
    spec: withAuth({ token: 's3cret' }),
    field: 'spec.auth',
    apiField: 'spec.auth.token',
  },
  {
    name: 'networkPolicy enabled as a string',
    spec: () => ({ ...baseSpec(), networkPolicy: { enabled: 'yes' } }),
    field: 'spec.networkPolicy.enabled',
  },
  { name: 'allowFrom empty', spec: withPeers([]), field: 'spec.networkPolicy.allowFrom' },
  {
    name: 'a peer with no selector',
    spec: withPeers([{}]),
    field: 'spec.networkPolicy.allowFrom[0]',
    message: 'set namespaceSelector, podSelector or both',
  },
  {
    name: 'a peer with an ipBlock (add a policy of your own)',
    spec: withPeers([{ ipBlock: { cidr: '10.0.0.0/8' } }]),
    field: 'spec.networkPolicy.allowFrom[0]',
    apiField: 'spec.networkPolicy.allowFrom[0].ipBlock',
  },
  {
    name: 'In without values',
    spec: withPeers([{ podSelector: { matchExpressions: [{ key: 'app', operator: 'In' }] } }]),
    field: 'spec.networkPolicy.allowFrom[0].podSelector.matchExpressions[0].values',
    message: 'values must be non-empty for In and NotIn',
  },
  {
    name: 'Exists with values',
    spec: withPeers([
      {
        namespaceSelector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] },
      },
    ]),
    field: 'spec.networkPolicy.allowFrom[0].namespaceSelector.matchExpressions[0].values',
  },
  {
    name: 'a selector operator of another API',
    spec: withPeers([{ podSelector: { matchExpressions: [{ key: 'a', operator: 'Equals' }] } }]),
    field: 'spec.networkPolicy.allowFrom[0].podSelector.matchExpressions[0].operator',
  },
  {
    name: 'a matchLabels key that is no label key',
    spec: withPeers([{ namespaceSelector: { matchLabels: { 'bad key': 'x' } } }]),
    field: 'spec.networkPolicy.allowFrom[0].namespaceSelector.matchLabels',
    message: 'keys must be label keys',
  },
  {
    name: 'a matchExpressions key that is no label key',
    spec: withPeers([
      { namespaceSelector: { matchExpressions: [{ key: '-team', operator: 'Exists' }] } },
    ]),
    field: 'spec.networkPolicy.allowFrom[0].namespaceSelector.matchExpressions[0].key',
    message: 'must be a label key',
  },
  {
    name: 'a matchLabels value that is no label value',
    spec: withPeers([{ podSelector: { matchLabels: { app: 'a b' } } }]),
    field: 'spec.networkPolicy.allowFrom[0].podSelector.matchLabels.app',
    apiField: 'spec.networkPolicy.allowFrom[0].podSelector.matchLabels[app]',
  },
];
