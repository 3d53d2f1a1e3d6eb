import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Paths of the PEM files one cluster needs. */
export interface ClusterCerts {
  /** CA that signed the API server's serving certificate (clients trust it). */
  servingCa: string;
  /** CA the API server trusts for client certificates. */
  clientCa: string;
  apiserverCert: string;
  apiserverKey: string;
  /** Service-account token signing pair. */
  saKey: string;
  saPub: string;
  /** Client certificates by identity (admin, controller-manager, scheduler, kwok). */
  clients: Record<ClientName, { cert: string; key: string }>;
}

export type ClientName = 'admin' | 'controller-manager' | 'scheduler' | 'kwok';

/**
 * Client identities. The controller-manager and scheduler use the users the API server's
 * bootstrap RBAC roles are bound to, so they run with their real, limited permissions; kwok
 * plays every kubelet, so it is an admin.
 */
const clientSubjects: Record<ClientName, string> = {
  admin: '/O=system:masters/CN=zimage-admin',
  'controller-manager': '/CN=system:kube-controller-manager',
  scheduler: '/CN=system:kube-scheduler',
  kwok: '/O=system:masters/CN=kwok',
};

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim()}`, { cause: err });
  }
}

// P-256 keys: generated in milliseconds (RSA-2048 takes ~100 ms each on a slow core) and
// accepted by every component, including service-account token signing (ES256).
const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string, cn: string): void {
  openssl(
    [
      'req',
      '-x509',
      ...ecKey,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '3650',
      '-subj',
      `/CN=${cn}`,
    ],
    dir,
  );
}

function makeLeaf(
  dir: string,
  name: string,
  ca: string,
  subject: string,
  extensions: string[],
): void {
  fs.writeFileSync(path.join(dir, `${name}.ext`), extensions.join('\n') + '\n');
  openssl(
    ['req', '-new', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '3650',
      '-extfile',
      `${name}.ext`,
    ],
    dir,
  );
}

/** Write a fresh set of certificates into `dir` (created if needed). */
export function makeClusterCerts(dir: string): ClusterCerts {
  fs.mkdirSync(dir, { recursive: true });
  makeCa(dir, 'serving-ca', 'zimage-local-serving-ca');
  makeCa(dir, 'client-ca', 'zimage-local-client-ca');
  makeLeaf(dir, 'apiserver', 'serving-ca', '/CN=kube-apiserver', [
    'basicConstraints=CA:FALSE',
    'keyUsage=digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
  ]);
  const clients = {} as ClusterCerts['clients'];
  for (const [name, subject] of Object.entries(clientSubjects) as [ClientName, string][]) {
    makeLeaf(dir, `client-${name}`, 'client-ca', subject, [
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      'extendedKeyUsage=clientAuth',
    ]);
    clients[name] = {
      cert: path.join(dir, `client-${name}.crt`),
      key: path.join(dir, `client-${name}.key`),
    };
  }
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'sa.key'], dir);
  openssl(['ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  return {
    servingCa: path.join(dir, 'serving-ca.crt'),
    clientCa: path.join(dir, 'client-ca.crt'),
    apiserverCert: path.join(dir, 'apiserver.crt'),
    apiserverKey: path.join(dir, 'apiserver.key'),
    saKey: path.join(dir, 'sa.key'),
    saPub: path.join(dir, 'sa.pub'),
    clients,
  };
}

/** A kubeconfig YAML for one client identity, with the certificates embedded. */
export function kubeconfigYaml(server: string, certs: ClusterCerts, client: ClientName): string {
  const b64 = (file: string) => fs.readFileSync(file).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: zimage-local
  cluster:
    server: ${server}
    certificate-authority-data: ${b64(certs.servingCa)}
users:
- name: ${client}
  user:
    client-certificate-data: ${b64(certs.clients[client].cert)}
    client-key-data: ${b64(certs.clients[client].key)}
contexts:
- name: zimage-local
  context:
    cluster: zimage-local
    user: ${client}
current-context: zimage-local
`;
}
