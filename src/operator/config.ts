/**
 * Operator configuration: flags first, then environment variables, then defaults; validated
 * with zod so a bad value stops start-up with a message naming the flag.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';

const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const configSchema = z
  .object({
    /** Kubeconfig file; default: KUBECONFIG, then in-cluster service account. */
    kubeconfig: z.string().optional(),
    /** Namespaces to watch, comma-separated; empty = all. Env ZIMAGE_WATCH_NAMESPACES. */
    watchNamespaces: z
      .string()
      .default('')
      .transform((s) =>
        s
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean),
      ),
    /** Run leader election (default true). Env ZIMAGE_LEADER_ELECT. */
    leaderElect: bool.default(true),
    /** Namespace of the leader Lease. Env ZIMAGE_LEADER_ELECTION_NAMESPACE, else POD_NAMESPACE, else zimage-system. */
    leaderElectionNamespace: z
      .string()
      .min(1)
      .default(process.env['POD_NAMESPACE'] ?? 'zimage-system'),
    /** Name of the leader Lease. */
    leaseName: z.string().min(1).default('zimage-operator-leader'),
    /** Identity in the Lease. Env POD_NAME, else hostname plus pid. */
    identity: z
      .string()
      .min(1)
      .default(process.env['POD_NAME'] ?? `${os.hostname()}_${process.pid}`),
    /** Address and port of /healthz, /readyz, /metrics. Default 0.0.0.0:8081. */
    httpHost: z.string().default('0.0.0.0'),
    httpPort: int(0, 65535).default(8081),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
    /** Parallel reconciles (of different objects; one object never runs twice at once). */
    concurrency: int(1, 64).default(4),
    /**
     * Replace an informer that has shown no sign of life (event or reconnect) for this long.
     * The client library reconnects a quiet watch every 30 s (its inactivity timeout), and each
     * reconnect counts as life, so 60 s only trips for an informer that is truly stuck.
     */
    watchdogSeconds: int(1, 86_400).default(60),
    /** Relist everything this often regardless. */
    relistSeconds: int(1, 86_400).default(600),
    /** Deadline of every API request (watches excepted). */
    requestTimeoutSeconds: int(1, 300).default(30),
    /** How often to re-check whether monitoring.coreos.com (ServiceMonitor, PrometheusRule) is served. */
    monitoringPollSeconds: int(1, 3_600).default(30),
  })
  .strict();

export type OperatorConfig = z.output<typeof configSchema>;

const flagToKey: Record<string, keyof OperatorConfig> = {
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
};

/** Env name of a flag: --leader-elect -> ZIMAGE_LEADER_ELECT. */
export const envName = (flag: string) => `ZIMAGE_${flag.toUpperCase().replaceAll('-', '_')}`;

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): OperatorConfig {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(
      Object.keys(flagToKey).map((flag) => [flag, { type: 'string' as const }]),
    ),
    strict: true,
  });
  const input: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(flagToKey)) {
    const value = values[flag] ?? env[envName(flag)];
    if (value !== undefined) input[key] = value;
  }
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const byKey = Object.fromEntries(Object.entries(flagToKey).map(([flag, key]) => [key, flag]));
    const lines = parsed.error.issues.map((i) => {
      const flag = byKey[String(i.path[0])] ?? String(i.path[0]);
      return `--${flag} (${envName(flag)}): ${i.message}`;
    });
    throw new Error(`invalid operator configuration:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}
