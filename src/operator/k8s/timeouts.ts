/**
 * API clients whose every request has a deadline. The generated clients wait forever by
 * default; a request sent on a connection that silently stopped forwarding (a stalled
 * keep-alive socket) would then hang a reconcile, and with it the queue key, for good.
 */
import {
  createConfiguration,
  ServerConfiguration,
  type Configuration,
  type KubeConfig,
} from '@kubernetes/client-node';

export function timedConfiguration(kubeConfig: KubeConfig, timeoutMs: number): Configuration {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  return createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kubeConfig },
    promiseMiddleware: [
      {
        pre: (context) => {
          context.setSignal(AbortSignal.timeout(timeoutMs));
          return Promise.resolve(context);
        },
        post: (response) => Promise.resolve(response),
      },
    ],
  });
}
