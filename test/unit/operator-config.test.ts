import os from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig } from '../../src/operator/config.ts';

const flagList =
  '--kubeconfig, --watch-namespaces, --leader-elect, --leader-election-namespace, --lease-name, --identity, --http-host, --http-port, --log-level, --concurrency, --watchdog-seconds, --relist-seconds, --monitoring-poll-seconds, --request-timeout-seconds, --autoscaler, --dcgm-exporter-selector, --dcgm-exporter-namespaces, --router-image, --prometheus-url-allow, --prometheus-url-allow-loopback, --operator-namespace, --operator-pod-labels, --prometheus-namespace-selector';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('operator configuration', () => {
  it('reads flags before env, with documented defaults', () => {
    const c = loadConfig(['--watch-namespaces=a, b', '--http-port=9000'], {
      ZIMAGE_HTTP_PORT: '1',
      ZIMAGE_LEADER_ELECT: 'false',
    });
    expect(c).toEqual({
      watchNamespaces: ['a', 'b'],
      httpPort: 9000,
      leaderElect: false,
      leaderElectionNamespace: 'zimage-system',
      leaseName: 'zimage-operator-leader',
      identity: `${os.hostname()}_${process.pid}`,
      httpHost: '0.0.0.0',
      logLevel: 'info',
      concurrency: 4,
      watchdogSeconds: 60,
      relistSeconds: 600,
      requestTimeoutSeconds: 30,
      monitoringPollSeconds: 30,
      autoscaler: true,
      dcgmExporterSelector: 'app=nvidia-dcgm-exporter',
      dcgmExporterNamespaces: [],
      routerImage: 'registry.example/zimage-operator:0.1.0',
      prometheusUrlAllow: [],
      prometheusUrlAllowLoopback: false,
      operatorNamespace: 'zimage-system',
      operatorPodLabels: { 'app.kubernetes.io/name': 'zimage-operator' },
      prometheusNamespaceSelector: { 'kubernetes.io/metadata.name': 'monitoring' },
    });
  });

  it.each([
    {
      name: 'POD_NAMESPACE and POD_NAME (the downward API) fill the Lease fields',
      env: { POD_NAMESPACE: 'ops', POD_NAME: 'zimage-operator-7d9f-abcde' },
      want: {
        leaderElectionNamespace: 'ops',
        identity: 'zimage-operator-7d9f-abcde',
        operatorNamespace: 'ops',
      },
    },
    {
      name: "the NetworkPolicies' peers: the operator's pods, Prometheus's namespaces",
      env: {
        ZIMAGE_OPERATOR_NAMESPACE: 'ops',
        ZIMAGE_OPERATOR_POD_LABELS: 'app=zop, team.example.com/tier=',
        ZIMAGE_PROMETHEUS_NAMESPACE_SELECTOR: 'monitoring=true,tier=infra',
      },
      want: {
        operatorNamespace: 'ops',
        operatorPodLabels: { app: 'zop', 'team.example.com/tier': '' },
        prometheusNamespaceSelector: { monitoring: 'true', tier: 'infra' },
      },
    },
    {
      name: 'no Prometheus admitted',
      env: { ZIMAGE_PROMETHEUS_NAMESPACE_SELECTOR: 'none' },
      want: { prometheusNamespaceSelector: undefined },
    },
    {
      name: 'ZIMAGE_* beats the downward API',
      env: {
        POD_NAMESPACE: 'ops',
        ZIMAGE_LEADER_ELECTION_NAMESPACE: 'leases',
        POD_NAME: 'pod',
        ZIMAGE_IDENTITY: 'me',
      },
      want: { leaderElectionNamespace: 'leases', identity: 'me' },
    },
    {
      name: 'ZIMAGE_DCGM_EXPORTER_NAMESPACES lists the exporters where namespaced RBAC lets it',
      env: { ZIMAGE_DCGM_EXPORTER_NAMESPACES: 'gpu-operator, monitoring' },
      want: { dcgmExporterNamespaces: ['gpu-operator', 'monitoring'] },
    },
    {
      name: "ZIMAGE_ROUTER_IMAGE names the router pods' image",
      env: { ZIMAGE_ROUTER_IMAGE: 'registry.example/zimage-operator:0.2.0' },
      want: { routerImage: 'registry.example/zimage-operator:0.2.0' },
    },
    {
      name: 'the Prometheus URL prefixes and the loopback allowance (the local dev cluster)',
      env: {
        ZIMAGE_PROMETHEUS_URL_ALLOW:
          'http://prometheus.monitoring:9090, https://thanos.example.com/q/',
        ZIMAGE_PROMETHEUS_URL_ALLOW_LOOPBACK: 'true',
      },
      want: {
        prometheusUrlAllow: ['http://prometheus.monitoring:9090', 'https://thanos.example.com/q/'],
        prometheusUrlAllowLoopback: true,
      },
    },
    {
      name: 'an empty variable counts as unset (a Helm value rendered as "")',
      env: { ZIMAGE_CONCURRENCY: '', POD_NAMESPACE: '' },
      want: { concurrency: 4, leaderElectionNamespace: 'zimage-system' },
    },
  ])('$name', ({ env, want }) => {
    expect(loadConfig([], env)).toMatchObject(want);
  });

  it('reads only the env it is given, never process.env (at import or at call)', async () => {
    vi.stubEnv('POD_NAMESPACE', 'from-process-env');
    vi.stubEnv('POD_NAME', 'from-process-env');
    vi.stubEnv('ZIMAGE_LOG_LEVEL', 'debug');
    vi.stubEnv('ZIMAGE_CONCURRENCY', '9');
    vi.resetModules();
    const { loadConfig } = await import('../../src/operator/config.ts');

    expect(loadConfig([], { POD_NAMESPACE: 'given', POD_NAME: 'given-pod' })).toMatchObject({
      leaderElectionNamespace: 'given',
      identity: 'given-pod',
      logLevel: 'info',
      concurrency: 4,
    });
    expect(loadConfig([], {})).toMatchObject({
      leaderElectionNamespace: 'zimage-system',
      identity: `${os.hostname()}_${process.pid}`,
    });
  });

  it.each([
    {
      name: 'port out of range',
      argv: ['--http-port=70000'],
      env: {},
      message:
        '--http-port (env ZIMAGE_HTTP_PORT) got "70000": expected an integer from 0 to 65535',
    },
    {
      name: 'not a number',
      argv: ['--concurrency=four'],
      env: {},
      message:
        '--concurrency (env ZIMAGE_CONCURRENCY) got "four": expected an integer from 1 to 64',
    },
    {
      name: 'zero where at least 1 is needed',
      argv: ['--concurrency=0'],
      env: {},
      message: '--concurrency (env ZIMAGE_CONCURRENCY) got "0": expected an integer from 1 to 64',
    },
    {
      name: 'unknown log level lists the levels',
      argv: ['--log-level=loud'],
      env: {},
      message:
        '--log-level (env ZIMAGE_LOG_LEVEL) got "loud": expected one of trace, debug, info, warn, error, fatal',
    },
    {
      name: 'boolean other than true/false',
      argv: ['--leader-elect=maybe'],
      env: {},
      message: '--leader-elect (env ZIMAGE_LEADER_ELECT) got "maybe": expected true or false',
    },
    {
      name: 'a bad env variable is named as the variable',
      argv: [],
      env: { ZIMAGE_RELIST_SECONDS: '0' },
      message:
        'ZIMAGE_RELIST_SECONDS (flag --relist-seconds) got "0": expected an integer from 1 to 86400',
    },
    {
      name: 'a bad downward-API fallback is named too',
      argv: [],
      env: { POD_NAMESPACE: 'Not_A_Namespace' },
      message: [
        'POD_NAMESPACE (flag --leader-election-namespace) got "Not_A_Namespace": expected a namespace name (lower-case DNS label)',
        'POD_NAMESPACE (flag --operator-namespace) got "Not_A_Namespace": expected a namespace name (lower-case DNS label)',
      ].join('\ninvalid operator configuration: '),
    },
    {
      name: 'operator pod labels that are no labels',
      argv: ['--operator-pod-labels=app'],
      env: {},
      message:
        '--operator-pod-labels (env ZIMAGE_OPERATOR_POD_LABELS) got "app": expected comma-separated key=value pod labels, e.g. app.kubernetes.io/name=zimage-operator',
    },
    {
      name: 'a Prometheus namespace selector with a bad key',
      argv: ['--prometheus-namespace-selector=kubernetes io=monitoring'],
      env: {},
      message:
        '--prometheus-namespace-selector (env ZIMAGE_PROMETHEUS_NAMESPACE_SELECTOR) got "kubernetes io=monitoring": expected comma-separated key=value namespace labels, e.g. kubernetes.io/metadata.name=monitoring, or none',
    },
    {
      name: 'a namespace in the watch list that cannot exist',
      argv: ['--watch-namespaces=a,B_c'],
      env: {},
      message:
        '--watch-namespaces (env ZIMAGE_WATCH_NAMESPACES) got "a,B_c": expected comma-separated namespace names (lower-case DNS labels), empty for all',
    },
    {
      name: 'a Prometheus URL prefix with credentials',
      argv: ['--prometheus-url-allow=http://user:pw@prometheus:9090'],
      env: {},
      message:
        '--prometheus-url-allow (env ZIMAGE_PROMETHEUS_URL_ALLOW) got "http://user:pw@prometheus:9090": expected comma-separated http(s) URL prefixes, e.g. http://prometheus.monitoring:9090 (scheme://host[:port][/path], no credentials, query or fragment), empty for any URL that is neither loopback nor link-local',
    },
    {
      name: 'unknown flag lists the flags',
      argv: ['--leader-elekt=true'],
      env: {},
      message: `unknown flag --leader-elekt; the flags are ${flagList}`,
    },
    {
      name: 'flag without a value says what the value may be',
      argv: ['--concurrency'],
      env: {},
      message:
        '--concurrency needs a value, as --concurrency=VALUE: expected an integer from 1 to 64',
    },
    {
      name: 'flag followed by another flag instead of its value',
      argv: ['--log-level', '--concurrency=2'],
      env: {},
      message:
        '--log-level needs a value, as --log-level=VALUE: expected one of trace, debug, info, warn, error, fatal',
    },
    {
      name: 'positional argument',
      argv: ['operator'],
      env: {},
      message: `unexpected argument "operator": flags take the form --name=value (${flagList})`,
    },
  ])('rejects $name in one line naming the flag and what it accepts', ({ argv, env, message }) => {
    const err = captureError(() => loadConfig(argv, env));
    expect(err).toBeInstanceOf(ConfigError);
    const [prefix, rest] = splitPrefix(err.message);
    expect(prefix).toBe('invalid operator configuration: ');
    expect(rest).toEqual(message);
  });

  it('reports every bad field, one line each', () => {
    const err = captureError(() =>
      loadConfig(['--http-port=-1', '--log-level=loud'], { ZIMAGE_WATCHDOG_SECONDS: 'x' }),
    );
    expect(err.message.split('\n')).toEqual([
      'invalid operator configuration: --http-port (env ZIMAGE_HTTP_PORT) got "-1": expected an integer from 0 to 65535',
      'invalid operator configuration: --log-level (env ZIMAGE_LOG_LEVEL) got "loud": expected one of trace, debug, info, warn, error, fatal',
      'invalid operator configuration: ZIMAGE_WATCHDOG_SECONDS (flag --watchdog-seconds) got "x": expected an integer from 1 to 86400',
    ]);
  });
});

function captureError(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`threw a non-Error: ${String(err)}`, { cause: err });
  }
  throw new Error('expected an error, got none');
}

const splitPrefix = (message: string): [string, string] => {
  const at = message.indexOf(': ') + 2;
  return [message.slice(0, at), message.slice(at)];
};
