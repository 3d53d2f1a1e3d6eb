/**
 * The fastify application, composed from one module per concern: probes and /metrics at the
 * root (open), the generation API in its own encapsulated context (JSON bodies only, optional
 * bearer auth, request counting). Listening and shutdown belong to server.ts, so tests drive
 * this with app.inject() and a fake Engine.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Clock } from '../contract/clock.ts';
import { runtimeHeaders, type LiveConfig } from '../contract/runtime.ts';
import type { RuntimeConfig } from './config.ts';
import type { Engine } from './engine.ts';
import { fitCheck, gpuInfo, type FitConfig } from './fit.ts';
import { createApiApp, registerImageApi, type ServerOptions } from '../image-api/fastify-app.ts';
import type { Tokens } from '../image-api/tokens.ts';
import { generateRoute } from './http/generate.ts';
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
    'maxResolution' | 'maxImagesPerRequest' | 'bodyLimitBytes' | 'pacing'
  > &
    FitConfig;
  /** Bearer tokens the API demands (config.apiToken, opened). Absent: no auth. */
  tokens?: Tokens | undefined;
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
  serverOptions?: ServerOptions;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  // Typed as fastify's base logger so plugins take a plain FastifyInstance (with pino's own
  // Logger type the instance's generics differ from the default ones route modules use).
  const app = createApiApp({
    logger: deps.logger,
    bodyLimit: config.bodyLimitBytes,
    onClientError: (reason: ClientErrorReason) => deps.metrics.clientErrors.inc({ reason }),
    serverOptions: deps.serverOptions,
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (deps.podName) reply.header(runtimeHeaders.pod, deps.podName);
  });

  probeRoutes(app, { ...deps, gpu: gpuInfo(config) });

  await registerImageApi(
    app,
    { bodyLimitBytes: config.bodyLimitBytes, tokens: deps.tokens },
    (api) =>
      generateRoute(api, {
        engine: deps.engine,
        queue: deps.queue,
        state: deps.state,
        metrics: deps.metrics,
        liveConfig: deps.liveConfig,
        limits: { maxResolution: config.maxResolution, maxImages: config.maxImagesPerRequest },
        fit: fitCheck(config, () => deps.engine.info().offload),
      }),
  );
  return app;
}
