/**
 * Credentials of a ServiceAccount, as a pod gets them: a bound token from the TokenRequest API,
 * written into a kubeconfig file (for a process started with KUBECONFIG) and as a client.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { keyOf } from '../../src/contract/object-key.ts';

export interface ServiceAccountCredentials {
  /** A kubeconfig file that authenticates as the ServiceAccount (mode 0600). */
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  core: CoreV1Api;
}

/**
 * A token for `namespace/name` (which must exist) on `admin`'s cluster. One hour by default:
 * longer than any test, and the kubelet's projected tokens are as short-lived.
 */
export async function serviceAccountCredentials(
  admin: KubeConfig,
  target: { namespace: string; name: string },
  options: { dir?: string; expirationSeconds?: number } = {},
): Promise<ServiceAccountCredentials> {
  const { status } = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    ...target,
    body: { spec: { audiences: [], expirationSeconds: options.expirationSeconds ?? 3600 } },
  });
  const token = status?.token;
  if (!token) throw new Error(`TokenRequest for ${keyOf(target)} gave no token`);
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('the admin kubeconfig has no current cluster');
  const user = `system:serviceaccount:${target.namespace}:${target.name}`;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'c',
        cluster: { server: cluster.server, 'certificate-authority-data': cluster.caData },
      },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'c', context: { cluster: 'c', user } }],
    'current-context': 'c',
  };
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'zimage-sa-'));
  const kubeconfigPath = path.join(dir, `${target.name}.kubeconfig`);
  fs.writeFileSync(kubeconfigPath, stringify(config), { mode: 0o600 });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  return { kubeconfigPath, kubeConfig, core: kubeConfig.makeApiClient(CoreV1Api) };
}
