/**
 * The fastify application, composed from one module per concern: probes and /metrics at the
 * root (open), the generation API in its own encapsulated context (JSON bodies only, optional
 * bearer auth, request counting). Listening and shutdown belong to server.ts, so tests drive
 * this with app.inject() and a fake Engine.
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
import type { Logger } from 'pino';
import type { Clock } from '../contract/clock.ts';
import { runtimeHeaders, type LiveConfig } from '../contract/runtime.ts';
import type { RuntimeConfig } from './config.ts';
import type { Engine } from './engine.ts';
import { fitCheck, gpuInfo, type FitConfig } from './fit.ts';
import { bearerAuth } from '../image-api/auth.ts';
import { clientErrorHandler, errorHandler, notFoundHandler } from '../image-api/errors.ts';
import { generateRoute } from './http/generate.ts';
import { useJsonBodies } from '../image-api/json-body.ts';
import { probeRoutes } from './http/probes.ts';
import type { ClientErrorReason, RuntimeMetrics } from './metrics.ts';
import { GenerationQueue } from './queue.ts';
import type { RuntimeState } from './state.ts';

/** The generation queue as the server runs it: limits from the config, depth on the metrics. */
export function createQueue(
  config: Pick<RuntimeConfig, 'maxQueue' | 'requestTimeoutSeconds'>,
  metrics: Pick<RuntimeMetrics, 'queueDepth' | 'inflight'>,
  clock?: Clock,
): GenerationQueue {
  return new GenerationQueue({
    maxQueue: config.maxQueue,
    deadlineMs: config.requestTimeoutSeconds * 1000,
    ...(clock ? { clock } : {}),
    onChange: ({ queued, running }) => {
      metrics.queueDepth.set(queued);
      metrics.inflight.set(running);
    },
  });
}

export interface AppDeps {
  config: Pick<
    RuntimeConfig,
    'maxResolution' | 'maxImagesPerRequest' | 'bodyLimitBytes' | 'apiToken' | 'pacing'
  > &
    FitConfig;
  /** ZIMAGE_POD_NAME: sent as x-zimage-pod, so a client behind a Service sees who served it. */
  podName?: string | undefined;
  engine: Engine;
  queue: GenerationQueue;
  state: RuntimeState;
  metrics: RuntimeMetrics;
  /** The live config now (default steps). */
  liveConfig: () => LiveConfig;
  logger: Logger;
  /** Socket timeouts and the like, from server.ts. */
  serverOptions?: Pick<
    FastifyServerOptions,
    'keepAliveTimeout' | 'requestTimeout' | 'connectionTimeout' | 'forceCloseConnections'
  > &
    Pick<FastifyHttpOptions<Server>, 'http'>;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  // Typed as fastify's base logger so plugins take a plain FastifyInstance (with pino's own
  // Logger type the instance's generics differ from the default ones route modules use).
  const logger: FastifyBaseLogger = deps.logger;
  const onClientError = (reason: ClientErrorReason) => deps.metrics.clientErrors.inc({ reason });
  const handleError = errorHandler({ bodyLimit: config.bodyLimitBytes, onClientError });
  const app = Fastify({
    loggerInstance: logger,
    // Probes and scrapes come every few seconds; the generate route logs its own line.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    genReqId: () => randomUUID(),
    clientErrorHandler: clientErrorHandler({
      requestId: randomUUID,
      log: logger,
      onClientError,
      receiveTimeoutMs: deps.serverOptions?.requestTimeout,
    }),
    // A URL the router cannot decode (FST_ERR_BAD_URL) is answered before any hook runs.
    frameworkErrors: (err, request, reply) => {
      void handleError(err, request, reply.header('x-request-id', request.id));
    },
    // While closing, requests on open connections still reach the routes, which answer 503
    // draining in the documented envelope (fastify's own 503 body has another shape).
    return503OnClosing: false,
    ...deps.serverOptions,
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(notFoundHandler);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (deps.podName) reply.header(runtimeHeaders.pod, deps.podName);
  });

  probeRoutes(app, { ...deps, gpu: gpuInfo(config) });

  await app.register((api, _options, done) => {
    useJsonBodies(api, config.bodyLimitBytes);
    if (config.apiToken !== undefined) api.addHook('onRequest', bearerAuth(config.apiToken));
    generateRoute(api, {
      engine: deps.engine,
      queue: deps.queue,
      state: deps.state,
      metrics: deps.metrics,
      liveConfig: deps.liveConfig,
      limits: { maxResolution: config.maxResolution, maxImages: config.maxImagesPerRequest },
      fit: fitCheck(config, () => deps.engine.info().offload),
    });
    done();
  });
  return app;
}
