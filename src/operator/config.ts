/**
 * Operator configuration: flags first, then environment variables, then defaults; validated
 * with zod so a bad value stops start-up with a message naming the flag and what it accepts.
 * Pure: reads only the argv and env it is given (the hostname and pid feed one default).
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError as StartupConfigError } from '../contract/startup.ts';
import { defaultPolicyPeers } from './builders/network-policy.ts';
import { defaultRouterImage } from './builders/router.ts';
import { defaultExporterSelector } from './signals/direct/dcgm.ts';
import { parsePrefix } from './signals/prometheus/url-policy.ts';

const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
// Every input is a string (a flag or an env variable), so true/false arrive as text.
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');
const int = (min: number, max: number, fallback: number) =>
  z.coerce
    .number()
    .int()
    .min(min)
    .max(max)
    .default(fallback)
    .describe(`an integer from ${min} to ${max}`);
// A namespace name is a DNS-1123 label: lower-case alphanumerics and '-', at most 63 characters.
const namespaceName = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const nonEmpty = 'a non-empty string';
const commaList = (s: string) =>
  s
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);

// Label keys (an optional DNS-subdomain prefix and '/', then a name) and values, as Kubernetes.
const labelName = '[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';
const labelPair = new RegExp(
  `^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?${labelName}=(${labelName})?$`,
);
const labelsText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
/** "k=v,k2=v2" -> {k: v, k2: v2}: what NetworkPolicy selectors match (matchLabels). */
const labels = () =>
  z
    .string()
    .transform(commaList)
    .pipe(z.array(z.string().regex(labelPair)).min(1))
    .transform((pairs) =>
      Object.fromEntries(pairs.map((p) => p.split('=', 2) as [string, string])),
    );

/** Every field carries a description of what it accepts: the error message quotes it. */
export const configSchema = z
  .object({
    /** Kubeconfig file; default: KUBECONFIG, then in-cluster service account. */
    kubeconfig: z.string().optional().describe('a file path'),
    /** Namespaces to watch, comma-separated; empty = all. Env ZIMAGE_WATCH_NAMESPACES. */
    watchNamespaces: z
      .string()
      .default('')
      .transform(commaList)
      .pipe(z.array(z.string().regex(namespaceName)))
      .describe('comma-separated namespace names (lower-case DNS labels), empty for all'),
    /** Run leader election (default true). Env ZIMAGE_LEADER_ELECT. */
    leaderElect: bool.default(true).describe('true or false'),
    /** Namespace of the leader Lease. Env ZIMAGE_LEADER_ELECTION_NAMESPACE, else POD_NAMESPACE, else zimage-system. */
    leaderElectionNamespace: z
      .string()
      .regex(namespaceName)
      .default('zimage-system')
      .describe('a namespace name (lower-case DNS label)'),
    /** Name of the leader Lease. */
    leaseName: z.string().min(1).default('zimage-operator-leader').describe(nonEmpty),
    /** Identity in the Lease. Env ZIMAGE_IDENTITY, else POD_NAME, else hostname plus pid. */
    identity: z
      .string()
      .min(1)
      .default(() => `${os.hostname()}_${process.pid}`)
      .describe(nonEmpty),
    /** Address and port of /healthz, /readyz, /metrics. Default 0.0.0.0:8081. */
    httpHost: z.string().default('0.0.0.0').describe('a host address'),
    httpPort: int(0, 65535, 8081),
    logLevel: z
      .enum(logLevels)
      .default('info')
      .describe(`one of ${logLevels.join(', ')}`),
    /** Parallel reconciles (of different objects; one object never runs twice at once). */
    concurrency: int(1, 64, 4),
    /**
     * Replace an informer that has shown no sign of life (event or reconnect) for this long.
     * The client library reconnects a quiet watch every 30 s (its inactivity timeout), and each
     * reconnect counts as life, so 60 s only trips for an informer that is truly stuck.
     */
    watchdogSeconds: int(1, 86_400, 60),
    /** Relist everything this often regardless. */
    relistSeconds: int(1, 86_400, 600),
    /** Deadline of every API request (watches excepted). */
    requestTimeoutSeconds: int(1, 300, 30),
    /** How often to re-check whether monitoring.coreos.com (ServiceMonitor, PrometheusRule) is served. */
    monitoringPollSeconds: int(1, 3_600, 30),
    /**
     * Run the autoscaler loop (objects in DryRun or Enforce). false: every object runs as its
     * spec says, whatever its mode, e.g. while another autoscaler owns spec.replicas.
     */
    autoscaler: bool.default(true).describe('true or false'),
    /** Label selector of the dcgm-exporter pods the direct source scrapes. */
    dcgmExporterSelector: z
      .string()
      .min(1)
      .default(defaultExporterSelector)
      .describe('a label selector, e.g. app.kubernetes.io/name=dcgm-exporter (its Helm chart)'),
    /**
     * Namespaces the dcgm-exporter pods are listed in, comma-separated; empty (the default):
     * every namespace, which needs pods list cluster-wide. Namespaced mode names the exporter's
     * own (the GPU Operator's gpu-operator) and grants list there only.
     */
    dcgmExporterNamespaces: z
      .string()
      .default('')
      .transform(commaList)
      .pipe(z.array(z.string().regex(namespaceName)))
      .describe('comma-separated namespace names (lower-case DNS labels), empty for all'),
    /**
     * Image of the router pods (spec.router.enabled): the operator's own image, which carries
     * src/router and runs it with another command. Env ZIMAGE_ROUTER_IMAGE.
     */
    routerImage: z
      .string()
      .min(1)
      .max(512)
      .default(defaultRouterImage)
      .describe('an image reference, e.g. registry.example/zimage-operator:0.1.0'),
    /**
     * URL prefixes spec.autoscaling.metrics.prometheus.url must start with, comma-separated;
     * empty (the default): any URL that is neither loopback nor link-local. The operator
     * queries that URL from its own network position (signals/prometheus/url-policy.ts).
     */
    prometheusUrlAllow: z
      .string()
      .default('')
      .transform(commaList)
      .pipe(z.array(z.string().refine((p) => typeof parsePrefix(p) !== 'string')))
      .describe(
        'comma-separated http(s) URL prefixes, e.g. http://prometheus.monitoring:9090 (scheme://host[:port][/path], no credentials, query or fragment), empty for any URL that is neither loopback nor link-local',
      ),
    /**
     * Let specs name a loopback Prometheus URL (127.0.0.0/8, ::1, localhost): the local dev
     * cluster, whose Prometheus listens on 127.0.0.1. In a pod, loopback is the operator's own
     * pod and its sidecars' admin ports: default false.
     */
    prometheusUrlAllowLoopback: bool.default(false).describe('true or false'),
    /**
     * Where the operator's pods run: the NetworkPolicies (spec.networkPolicy) admit them to the
     * pods' /metrics. Env ZIMAGE_OPERATOR_NAMESPACE, else POD_NAMESPACE, else zimage-system.
     */
    operatorNamespace: z
      .string()
      .regex(namespaceName)
      .default(defaultPolicyPeers.operator.namespace)
      .describe('a namespace name (lower-case DNS label)'),
    /** Labels of the operator's pods (deploy/base/operator.yaml's), for the same NetworkPolicies. */
    operatorPodLabels: labels()
      .prefault(labelsText(defaultPolicyPeers.operator.podLabels))
      .describe(
        'comma-separated key=value pod labels, e.g. app.kubernetes.io/name=zimage-operator',
      ),
    /**
     * Labels of the namespaces Prometheus runs in, admitted by the NetworkPolicies to scrape
     * the pods and routers; `none`: Prometheus is not admitted. Default
     * kubernetes.io/metadata.name=monitoring (the namespace kube-prometheus uses).
     */
    prometheusNamespaceSelector: z
      .union([z.literal('none').transform(() => undefined), labels()])
      .prefault(labelsText(defaultPolicyPeers.prometheusNamespaces ?? {}))
      .describe(
        'comma-separated key=value namespace labels, e.g. kubernetes.io/metadata.name=monitoring, or none',
      ),
  })
  .strict();

export type OperatorConfig = z.output<typeof configSchema>;
type Key = keyof OperatorConfig;

const flagToKey: Record<string, Key> = {
  kubeconfig: 'kubeconfig',
  'watch-namespaces': 'watchNamespaces',
  'leader-elect': 'leaderElect',
  'leader-election-namespace': 'leaderElectionNamespace',
  'lease-name': 'leaseName',
  identity: 'identity',
  'http-host': 'httpHost',
  'http-port': 'httpPort',
  'log-level': 'logLevel',
  concurrency: 'concurrency',
  'watchdog-seconds': 'watchdogSeconds',
  'relist-seconds': 'relistSeconds',
  'monitoring-poll-seconds': 'monitoringPollSeconds',
  'request-timeout-seconds': 'requestTimeoutSeconds',
  autoscaler: 'autoscaler',
  'dcgm-exporter-selector': 'dcgmExporterSelector',
  'dcgm-exporter-namespaces': 'dcgmExporterNamespaces',
  'router-image': 'routerImage',
  'prometheus-url-allow': 'prometheusUrlAllow',
  'prometheus-url-allow-loopback': 'prometheusUrlAllowLoopback',
  'operator-namespace': 'operatorNamespace',
  'operator-pod-labels': 'operatorPodLabels',
  'prometheus-namespace-selector': 'prometheusNamespaceSelector',
};
const flags = Object.keys(flagToKey);

/** Kubernetes-injected fallbacks (the downward API in deploy/base/operator.yaml), after ZIMAGE_*. */
const podEnv: Partial<Record<Key, string>> = {
  leaderElectionNamespace: 'POD_NAMESPACE',
  operatorNamespace: 'POD_NAMESPACE',
  identity: 'POD_NAME',
};

/** Env name of a flag: --leader-elect -> ZIMAGE_LEADER_ELECT. */
export const envName = (flag: string) => `ZIMAGE_${flag.toUpperCase().replaceAll('-', '_')}`;

/** A configuration the operator cannot start with: one line per problem (loadConfigOrExit). */
export class ConfigError extends StartupConfigError {
  constructor(lines: string[], options?: ErrorOptions) {
    super(lines.map((l) => `invalid operator configuration: ${l}`).join('\n'), options);
  }
}

/**
 * Reads flags, then `env` (never process.env), then defaults. Empty env variables count as
 * unset, as in the runtime (a Helm value rendered as "" means "default").
 * @throws ConfigError, one line per problem, each naming the flag, its variable and what it accepts.
 */
export function loadConfig(
  argv: string[],
  env: Record<string, string | undefined>,
): OperatorConfig {
  const values = parseFlags(argv);
  const input: Record<string, unknown> = {};
  const shown: Partial<Record<Key, string>> = {};
  for (const [flag, key] of Object.entries(flagToKey)) {
    const fromFlag = values[flag];
    const fallback = podEnv[key];
    const name = [envName(flag), fallback].find((n) => n !== undefined && env[n]);
    if (fromFlag !== undefined) {
      input[key] = fromFlag;
      shown[key] = `--${flag} (env ${envName(flag)}) got ${JSON.stringify(fromFlag)}`;
    } else if (name !== undefined) {
      input[key] = env[name];
      shown[key] = `${name} (flag --${flag}) got ${JSON.stringify(env[name])}`;
    }
  }
  const parsed = configSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  // One line per field, even where zod reports several issues for it (a list of namespaces).
  const keys = new Set(parsed.error.issues.map((i) => i.path[0] as Key));
  throw new ConfigError([...keys].map((key) => `${shown[key] ?? key}: expected ${accepts(key)}`));
}

function parseFlags(argv: string[]): Record<string, string | undefined> {
  try {
    return parseArgs({
      args: argv,
      options: Object.fromEntries(flags.map((flag) => [flag, { type: 'string' as const }])),
      strict: true,
    }).values;
  } catch (err) {
    throw new ConfigError([flagProblem(err)], { cause: err });
  }
}

/**
 * parseArgs' errors name the token ("Unknown option '--leader-elekt'", "Option '--concurrency
 * <value>' argument missing") but not the fix: say which flags exist or what the value may be.
 */
function flagProblem(err: unknown): string {
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  const token = /'([^' ]+)/.exec(message)?.[1] ?? '';
  const known = flags.map((f) => `--${f}`).join(', ');
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${token}; the flags are ${known}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const key = flagToKey[token.replace(/^--/, '')];
      return `${token} needs a value, as ${token}=VALUE${key ? `: expected ${accepts(key)}` : ''}`;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument "${token}": flags take the form --name=value (${known})`;
    default:
      return message;
  }
}

const accepts = (key: Key): string => configSchema.shape[key].description ?? 'a valid value';
