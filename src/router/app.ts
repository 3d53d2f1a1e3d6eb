/**
 * The router's fastify application: probes and /metrics at the root (open), the image API in its
 * own context (JSON bodies only, optional bearer auth), both from src/image-api so its 4xx are
 * the runtime's. Listening and shutdown are the factory's (router.ts); tests use app.inject().
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { runtimePaths } from '../contract/runtime.ts';
import { createApiApp, registerImageApi } from '../image-api/fastify-app.ts';
import { serverTimeouts } from '../image-api/server-timeouts.ts';
import type { Tokens } from '../image-api/tokens.ts';
import type { RouterConfig } from './config.ts';
import type { Dispatcher } from './dispatch/dispatcher.ts';
import { generateRoute } from './http/generate.ts';
import type { RouterMetrics } from './metrics.ts';

export interface RouterAppDeps {
  config: Pick<RouterConfig, 'bodyLimitBytes' | 'maxResolution' | 'maxImagesPerRequest'>;
  /** The client tokens the API demands (config.apiToken, opened). Absent: no auth. */
  tokens?: Tokens | undefined;
  dispatcher: Dispatcher;
  metrics: RouterMetrics;
  logger: Logger;
  /** Ready: the pod list has arrived and the router is not draining. */
  ready(): { ready: boolean; status: string };
}

export async function buildRouterApp(deps: RouterAppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = createApiApp({
    logger: deps.logger,
    bodyLimit: config.bodyLimitBytes,
    onClientError: () => undefined,
    serverOptions: serverTimeouts,
  });

  app.get(runtimePaths.healthz, () => ({ status: 'ok' }));
  app.get(runtimePaths.readyz, async (_request, reply) => {
    const { ready, status } = deps.ready();
    const load = deps.dispatcher.load();
    return reply.code(ready ? 200 : 503).send({ status, pods: load.acceptingPods, queue: load });
  });
  app.get(runtimePaths.metrics, async (_request, reply) =>
    reply
      .header('content-type', deps.metrics.registry.contentType)
      .send(await deps.metrics.registry.metrics()),
  );

  await registerImageApi(
    app,
    { bodyLimitBytes: config.bodyLimitBytes, tokens: deps.tokens },
    (api) =>
      generateRoute(api, {
        dispatcher: deps.dispatcher,
        metrics: deps.metrics,
        limits: { maxResolution: config.maxResolution, maxImages: config.maxImagesPerRequest },
      }),
  );
  return app;
}
