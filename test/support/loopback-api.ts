/**
 * A fake API server on loopback as client-node sees it: the server listens on a free port of
 * 127.0.0.1 and the KubeConfig points there, over plain http (client-node refuses http unless
 * TLS verification is off). For the few endpoints a unit or runtime test fakes; what the real
 * API server does with the same requests is what the integration tests cover.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export async function listenAsApiServer(server: Server): Promise<KubeConfig> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'test' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'test' }],
    currentContext: 'fake',
  });
  return kubeConfig;
}
