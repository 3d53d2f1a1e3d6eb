/**
 * The operator's API clients share one connection pool (k8s/timeouts.ts): against a TLS
 * server standing in for the API server, requests reuse a connection instead of opening
 * (and handshaking) one each, and the token still goes with every request.
 */
import fs from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeClusterCerts } from '../../dev/certs.ts';
import { Kube } from '../../src/operator/k8s/client.ts';
import { createMetrics } from '../../src/operator/metrics.ts';

let server: Server;
let connections = 0;
const tokens: (string | undefined)[] = [];
let kubeConfig: KubeConfig;

beforeAll(async () => {
  const certs = makeClusterCerts(fs.mkdtempSync(path.join(os.tmpdir(), 'zimage-pool-')));
  server = createServer(
    { cert: fs.readFileSync(certs.apiserverCert), key: fs.readFileSync(certs.apiserverKey) },
    (req, res) => {
      tokens.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'APIGroupList', apiVersion: 'v1', groups: [] }));
    },
  );
  server.on('secureConnection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [
      {
        name: 'c',
        server: `https://127.0.0.1:${port}`,
        caData: fs.readFileSync(certs.servingCa).toString('base64'),
      },
    ],
    users: [{ name: 'operator', token: 'sa-token' }],
    contexts: [{ name: 'c', cluster: 'c', user: 'operator' }],
    currentContext: 'c',
  });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('Kube connection pool', () => {
  // Without the pool every request opens its own: 6 connections in both rows. With it undici
  // may open one more than are in flight: the next request can be dispatched before the
  // previous response has handed its connection back.
  it.each([
    {
      name: '6 requests one after the other: at most 2 TLS connections',
      batches: [1, 1, 1, 1, 1, 1],
      most: 2,
    },
    { name: '3 at once, then 3 at once: at most 4 TLS connections', batches: [3, 3], most: 4 },
  ])('$name', async ({ batches, most }) => {
    const kube = new Kube(kubeConfig, createMetrics(), 'test');
    connections = 0;
    tokens.length = 0;
    for (const size of batches) {
      await Promise.all(Array.from({ length: size }, () => kube.servesGroup('zimage.dev')));
    }
    expect(connections).toBeLessThanOrEqual(most);
    expect(connections).toBeGreaterThan(0);
    expect(tokens).toEqual(Array(6).fill('Bearer sa-token'));
  });
});
