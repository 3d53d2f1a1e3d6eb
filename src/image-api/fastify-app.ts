/**
 * The fastify instance both the runtime and the router serve the image API from: request ids
 * on every answer, every error in the API's envelope (fastify's own, node's client errors before
 * a request exists, unknown routes), no per-request log lines (probes and scrapes come every few
 * seconds; the generate routes log their own line).
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyHttpOptions,
  type FastifyInstance,
  type FastifyServerOptions,
} from 'fastify';
import { bearerAuth } from './auth.ts';
import type { Tokens } from './tokens.ts';
import { useJsonBodies } from './json-body.ts';
import {
  clientErrorHandler,
  errorHandler,
  notFoundHandler,
  type ClientErrorReason,
} from './errors.ts';

export type ServerOptions = Pick<
  FastifyServerOptions,
  'keepAliveTimeout' | 'requestTimeout' | 'connectionTimeout' | 'forceCloseConnections'
> &
  Pick<FastifyHttpOptions<Server>, 'http'>;

export interface ApiAppOptions {
  /** Typed as fastify's base logger so plugins take a plain FastifyInstance. */
  logger: FastifyBaseLogger;
  bodyLimit: number;
  /** A client hung up or broke the protocol (counted by the caller's metrics). */
  onClientError: (reason: ClientErrorReason) => void;
  /** Socket timeouts and the like (server-timeouts.ts in production). */
  serverOptions?: ServerOptions | undefined;
}

export function createApiApp(o: ApiAppOptions): FastifyInstance {
  const handleError = errorHandler({ bodyLimit: o.bodyLimit, onClientError: o.onClientError });
  const app = Fastify({
    loggerInstance: o.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: o.bodyLimit,
    genReqId: () => randomUUID(),
    clientErrorHandler: clientErrorHandler({
      requestId: randomUUID,
      log: o.logger,
      onClientError: o.onClientError,
      receiveTimeoutMs: o.serverOptions?.requestTimeout,
    }),
    // A URL that cannot be decoded (FST_ERR_BAD_URL) is answered before any hook runs.
    frameworkErrors: (err, request, reply) => {
      void handleError(err, request, reply.header('x-request-id', request.id));
    },
    // While closing, requests on open connections still reach the routes, which answer 503
    // draining in the documented envelope (fastify's own 503 body has another shape).
    return503OnClosing: false,
    ...o.serverOptions,
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(notFoundHandler);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  return app;
}

/**
 * The image API's own scope: JSON bodies and, with tokens, bearer auth for the routes that
 * `routes` adds; probes and /metrics registered outside it stay open. One function, so the
 * runtime and the router guard their API alike.
 */
export async function registerImageApi(
  app: FastifyInstance,
  o: { bodyLimitBytes: number; tokens?: Pick<Tokens, 'accepts'> | undefined },
  routes: (api: FastifyInstance) => void,
): Promise<void> {
  await app.register((api, _options, done) => {
    useJsonBodies(api, o.bodyLimitBytes);
    if (o.tokens !== undefined) api.addHook('onRequest', bearerAuth(o.tokens));
    routes(api);
    done();
  });
}
