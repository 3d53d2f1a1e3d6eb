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
 * socket then idling until its keep-alive timer closed it (operator bench, 300 objects: a
 * median 70 sockets open, half the operator's CPU). The first Agent the library builds serves
 * every later request of the configuration instead. Its TLS material (CA, client certificate)
 * is fixed from then on, as it is for the library's own cached https.Agent (one per cluster
 * and user); tokens are headers, set per request.
 *
 * A pool can hold a connection that stalled silently (a NAT or load balancer dropped it): its
 * requests time out, and so would every later one sent on it. A request that times out
 * therefore retires the pool, as the kubelet closes all its connections when a heartbeat
 * fails: later requests get fresh connections, those in flight finish or time out.
 */
import {
  createConfiguration,
  IsomorphicFetchHttpLibrary,
  ServerConfiguration,
  type Configuration,
  type HttpLibrary,
  type KubeConfig,
  type RequestContext,
  type SecurityAuthentication,
} from '@kubernetes/client-node';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

class Pool implements SecurityAuthentication {
  private shared: Dispatcher | undefined;
  private readonly kubeConfig: KubeConfig;

  constructor(kubeConfig: KubeConfig) {
    this.kubeConfig = kubeConfig;
  }

  getName(): string {
    return 'kubeconfig, one connection pool';
  }

  async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await this.kubeConfig.applySecurityAuthentication(context);
    // None for plain http without TLS options: fetch's global dispatcher pools already.
    const built = context.getDispatcher();
    if (!built) return;
    this.shared ??= built;
    context.setDispatcher(this.shared);
  }

  /** Retire `dispatcher` if it is still the pool: the next request builds a fresh one. */
  retire(dispatcher: Dispatcher | undefined): void {
    if (!dispatcher || dispatcher !== this.shared) return;
    this.shared = undefined;
    void dispatcher.close().catch(() => undefined);
  }
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && err.name === 'TimeoutError';
}

/** Sends as the library does; a request that timed out retires the pool it went through. */
function retiringOnTimeout(pool: Pool): HttpLibrary {
  const http = new IsomorphicFetchHttpLibrary();
  return {
    send(request) {
      const response = http.send(request);
      response.toPromise().catch((err: unknown) => {
        if (isTimeout(err)) pool.retire(request.getDispatcher());
      });
      return response;
    },
  };
}

export function timedConfiguration(kubeConfig: KubeConfig, timeoutMs: number): Configuration {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const pool = new Pool(kubeConfig);
  return createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: pool },
    httpApi: retiringOnTimeout(pool),
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
