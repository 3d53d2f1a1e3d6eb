/**
 * The two API endpoints the runtime's live config uses (list with a field selector, then watch
 * from the list's resourceVersion) for one ConfigMap, on a loopback HTTP server, so a runtime
 * project test can change offload live without a control plane. What the real API server does
 * with the same requests is covered by test/integration/runtime-live-config.test.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { liveConfigKey, type LiveConfig } from '../../src/contract/runtime.ts';
import { listenAsApiServer } from './loopback-api.ts';

export interface FakeConfigMapApi {
  /** KUBECONFIG for the runtime: this server, no TLS (client-node needs skipTLSVerify for it). */
  kubeconfigPath: string;
  /** Env that points a runtime at the ConfigMap. */
  env: Record<string, string>;
  /** Replace the document and tell every open watch (MODIFIED). */
  set(config: LiveConfig): void;
  /** Watches open now. */
  watches(): number;
  close(): Promise<void>;
}

export async function fakeConfigMapApi(
  initial: LiveConfig,
  { namespace = 'ns', name = 'runtime' } = {},
): Promise<FakeConfigMapApi> {
  let resourceVersion = 10;
  let config = initial;
  const watches = new Set<ServerResponse>();
  const object = () => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, resourceVersion: String(resourceVersion) },
    data: { [liveConfigKey]: JSON.stringify(config) },
  });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const selected = url.searchParams.get('fieldSelector') === `metadata.name=${name}`;
    if (url.pathname !== `/api/v1/namespaces/${namespace}/configmaps` || !selected) {
      res.writeHead(404).end();
    } else if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
      watches.add(res);
      res.on('close', () => watches.delete(res));
    } else {
      const list = {
        kind: 'ConfigMapList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(resourceVersion) },
        items: [object()],
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(list));
    }
  });
  const kubeConfig = await listenAsApiServer(server);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zimage-fake-api-'));
  const kubeconfigPath = path.join(dir, 'kubeconfig.json');
  writeFileSync(kubeconfigPath, kubeConfig.exportConfig());
  return {
    kubeconfigPath,
    env: { ZIMAGE_CONFIG_MAP: name, ZIMAGE_NAMESPACE: namespace, KUBECONFIG: kubeconfigPath },
    set(next) {
      config = next;
      resourceVersion += 1;
      for (const res of watches)
        res.write(`${JSON.stringify({ type: 'MODIFIED', object: object() })}\n`);
    },
    watches: () => watches.size,
    async close() {
      for (const res of watches) res.end();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
