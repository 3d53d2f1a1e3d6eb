/**
 * Run the real operator process against a test cluster, under exactly the RBAC and admission
 * policy that deploy/ ships (its own ServiceAccount's token), as it would run in the cluster.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { freePorts } from './ports.ts';
import { repoRoot } from './paths.ts';
import { kubectl, waitEstablished } from './tools.ts';

export { kubectl };
import { eventually } from './wait.ts';

export const operatorNamespace = 'zimage-system';

/** Where the operator's RBAC reaches: deploy/ (every namespace) or its namespaced overlay. */
export type RbacScope = 'cluster' | 'namespaced';

const kustomizations: Record<RbacScope, string> = {
  cluster: 'deploy',
  namespaced: path.join('deploy', 'overlays', 'namespaced'),
};

/** What deploy/base/admission-policy.yaml holds: the policy and its binding. */
export const admissionPolicyName = 'zimage-operator-writes';

export interface ManifestOptions {
  /** Default 'cluster'. 'namespaced': the overlay's Roles, and no ClusterRoleBinding. */
  rbac?: RbacScope;
  /**
   * Install the ValidatingAdmissionPolicy (default: yes, unless ZIMAGE_ADMISSION_POLICY=off).
   * Off also removes one already installed, so the same writes run without it: the policy is
   * a defence, never something the operator needs.
   */
  admissionPolicy?: boolean;
}

/** ZIMAGE_ADMISSION_POLICY=off runs tests, demo and benchmarks without the policy. */
export function admissionPolicyWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return env['ZIMAGE_ADMISSION_POLICY'] !== 'off';
}

/**
 * Install the CRD, the operator namespace (Pod Security restricted), its RBAC and admission
 * policy, rendered from the kustomization a cluster would apply. Idempotent. The operator's
 * own Deployment is left out: here the operator runs as a local process (startOperator).
 */
export function installOperatorManifests(
  kubeconfigPath: string,
  options: ManifestOptions = {},
): void {
  const scope = options.rbac ?? 'cluster';
  const policy = options.admissionPolicy ?? admissionPolicyWanted();
  kubectl(
    kubeconfigPath,
    'apply',
    '--server-side',
    '-f',
    path.join(repoRoot, 'crds', 'zimage.dev_zimagedeployments.yaml'),
  );
  waitEstablished(kubeconfigPath, ['crd/zimagedeployments.zimage.dev']);
  const rendered = kubectl(kubeconfigPath, 'kustomize', path.join(repoRoot, kustomizations[scope]));
  const skipped = new Set(['CustomResourceDefinition', 'Deployment']);
  if (!policy)
    for (const kind of ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'])
      skipped.add(kind);
  const docs = parseAllDocuments(rendered)
    .map((d) => d.toJSON() as { kind: string })
    .filter((d) => d && !skipped.has(d.kind));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zimage-manifests-'));
  const file = path.join(dir, 'manifests.yaml');
  fs.writeFileSync(file, docs.map((d) => stringify(d)).join('---\n'));
  try {
    kubectl(kubeconfigPath, 'apply', '-f', file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // Apply adds and never removes: take away what the other mode or a policy run left.
  if (!policy) uninstallAdmissionPolicy(kubeconfigPath);
  if (scope === 'namespaced')
    kubectl(
      kubeconfigPath,
      'delete',
      'clusterrolebinding',
      'zimage-operator',
      '--ignore-not-found',
    );
}

/** Remove the ValidatingAdmissionPolicy and its binding (absent ones are fine). */
export function uninstallAdmissionPolicy(kubeconfigPath: string): void {
  kubectl(
    kubeconfigPath,
    'delete',
    '--ignore-not-found',
    `validatingadmissionpolicybinding/${admissionPolicyName}`,
    `validatingadmissionpolicy/${admissionPolicyName}`,
  );
}

/** A kubeconfig that authenticates as the operator's ServiceAccount (bound token, 1 h). */
export async function operatorKubeconfig(
  adminKubeconfigPath: string,
  server?: string,
  options: { dir?: string; expirationSeconds?: number } = {},
): Promise<string> {
  const admin = new KubeConfig();
  admin.loadFromFile(adminKubeconfigPath);
  const core = admin.makeApiClient(CoreV1Api);
  const { status } = await core.createNamespacedServiceAccountToken({
    name: 'zimage-operator',
    namespace: operatorNamespace,
    body: { spec: { audiences: [], expirationSeconds: options.expirationSeconds ?? 3600 } },
  });
  const cluster = admin.getCurrentCluster()!;
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'zimage-op-'));
  const file = path.join(dir, 'operator.kubeconfig');
  fs.writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: ${server ?? cluster.server}
    certificate-authority-data: ${cluster.caData}
users:
- name: zimage-operator
  user:
    token: ${status!.token}
contexts:
- name: c
  context: {cluster: c, user: zimage-operator}
current-context: c
`,
    { mode: 0o600 },
  );
  return file;
}

export interface OperatorProcess {
  child: ChildProcess;
  url: string;
  identity: string;
  logs: () => string;
  metric: (name: string, labels?: Record<string, string>) => Promise<number>;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

export async function startOperator(
  kubeconfigPath: string,
  options: { identity?: string; env?: Record<string, string>; args?: string[] } = {},
): Promise<OperatorProcess> {
  const [port] = await freePorts(1);
  const identity = options.identity ?? `op-${port}`;
  let output = '';
  const main = path.join(repoRoot, 'src', 'operator', 'main.ts');
  const child = spawn(process.execPath, [main, ...(options.args ?? [])], {
    env: {
      ...process.env,
      KUBECONFIG: kubeconfigPath,
      ZIMAGE_HTTP_HOST: '127.0.0.1',
      ZIMAGE_HTTP_PORT: String(port),
      ZIMAGE_IDENTITY: identity,
      ZIMAGE_LEADER_ELECTION_NAMESPACE: operatorNamespace,
      ZIMAGE_LOG_LEVEL: 'info',
      // The local cluster's Prometheus listens on 127.0.0.1 (refused by default in a pod).
      ZIMAGE_PROMETHEUS_URL_ALLOW_LOOPBACK: 'true',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const url = `http://127.0.0.1:${port}`;
  const op: OperatorProcess = {
    child,
    url,
    identity,
    logs: () => output,
    async metric(name, labels = {}) {
      const text = await (await fetch(`${url}/metrics`)).text();
      let total = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(name)) continue;
        const match = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
        if (!match || match[1] !== name) continue;
        const ok = Object.entries(labels).every(([k, v]) =>
          (match[2] ?? '').includes(`${k}="${v}"`),
        );
        if (ok) total += Number(match[3]);
      }
      return total;
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
  await eventually(
    `operator ${identity} ready`,
    async () => {
      if (child.exitCode !== null) throw new Error(`operator exited ${child.exitCode}:\n${output}`);
      const res = await fetch(`${url}/readyz`);
      return res.ok ? true : undefined;
    },
    60_000,
  );
  return op;
}
