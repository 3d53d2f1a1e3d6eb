import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { kubeconfigYaml, makeClusterCerts, type ClusterCerts } from '../../dev/certs.ts';

let dir: string;
let certs: ClusterCerts;
const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' }).toString();
const verifies = (ca: string, cert: string) => {
  try {
    return openssl('verify', '-CAfile', ca, cert).includes(': OK');
  } catch {
    return false;
  }
};

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zimage-certs-'));
  certs = makeClusterCerts(dir);
});

describe('cluster certificates (openssl)', () => {
  it('signs the API server certificate with the serving CA, valid for loopback and the in-cluster names', () => {
    expect(verifies(certs.servingCa, certs.apiserverCert)).toBe(true);
    const text = openssl('x509', '-in', certs.apiserverCert, '-noout', '-text');
    expect(text).toContain('IP Address:127.0.0.1');
    expect(text).toContain('DNS:kubernetes.default.svc');
    expect(text).toContain('TLS Web Server Authentication');
  });

  it('keeps client and serving CAs apart: a client certificate does not verify as a server one', () => {
    expect(verifies(certs.clientCa, certs.clients.admin.cert)).toBe(true);
    expect(verifies(certs.servingCa, certs.clients.admin.cert)).toBe(false);
  });

  it.each([
    ['admin', 'O = system:masters, CN = zimage-admin'],
    ['controller-manager', 'CN = system:kube-controller-manager'],
    ['scheduler', 'CN = system:kube-scheduler'],
  ] as const)('gives %s the identity its RBAC expects', (client, subject) => {
    expect(openssl('x509', '-in', certs.clients[client].cert, '-noout', '-subject')).toContain(
      subject,
    );
  });

  it('writes a service-account key pair whose public half matches', () => {
    const pub = openssl('ec', '-in', certs.saKey, '-pubout');
    expect(pub.trim()).toBe(fs.readFileSync(certs.saPub, 'utf8').trim());
  });

  it('embeds the CA and client pair in the kubeconfig', () => {
    const yaml = kubeconfigYaml('https://127.0.0.1:6443', certs, 'admin');
    expect(yaml).toContain('server: https://127.0.0.1:6443');
    expect(yaml).toContain(
      `certificate-authority-data: ${fs.readFileSync(certs.servingCa).toString('base64')}`,
    );
  });
});
