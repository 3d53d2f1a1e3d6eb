/**
 * API clients whose every request has a deadline and shares one connection pool.
 *
 * Deadline: the generated clients wait forever by default; a request sent on a connection that
 * silently stopped forwarding (a stalled keep-alive socket) would then hang a reconcile, and
 * with it the queue key, for good.
 *
 * Pool: the library builds a new undici Agent for every request (KubeConfig.createDispatcher
 * in client-node 2.0.1), so each request opened its own TLS connection: a handshake on both
 * sides and a TLS context built from the CA, ~10 times per object on the way to Ready, each
 * socket then idling until its keep-alive timer closed it. The first Agent the library builds
 * serves every later request of the configuration instead. Its TLS material (CA, client
 * certificate) is fixed from then on, as it is for the library's own cached https.Agent
 * (KubeConfig.agentCache, one per cluster and user); tokens are headers, set per request.
 */
import {
  createConfiguration,
  ServerConfiguration,
  type Configuration,
  type KubeConfig,
  type RequestContext,
  type SecurityAuthentication,
} from '@kubernetes/client-node';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

function pooled(kubeConfig: KubeConfig): SecurityAuthentication {
  let shared: Dispatcher | undefined;
  return {
    getName: () => 'kubeconfig, one connection pool',
    async applySecurityAuthentication(context: RequestContext): Promise<void> {
      await kubeConfig.applySecurityAuthentication(context);
      // None for plain http without TLS options: fetch's global dispatcher pools already.
      const built = context.getDispatcher();
      if (!built) return;
      shared ??= built;
      context.setDispatcher(shared);
    },
  };
}

export function timedConfiguration(kubeConfig: KubeConfig, timeoutMs: number): Configuration {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  return createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: pooled(kubeConfig) },
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
