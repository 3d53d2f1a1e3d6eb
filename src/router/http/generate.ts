/**
 * POST /v1/images/generations at the router: validated with the runtime's own schema (same 400
 * bodies), fanned out one image per pod slot, answered in order as one response.
 *
 * A single image goes back exactly as its pod answered (body and pod header), so the router
 * adds no parse or copy of a 1-2 MB body to the common case. n images are joined: data[i] is
 * image i (seed + i), with `seed`, `steps` and `size` as a pod would answer the whole request.
 */
import { randomInt } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { runtimeHeaders, runtimePaths } from '../../contract/runtime.ts';
import { ApiError, clientClosed } from '../../image-api/errors.ts';
import { maxSeed, parseGenerationRequest, type RequestLimits } from '../../image-api/request.ts';
import type { Dispatcher } from '../dispatch/dispatcher.ts';
import { RequestFailure, type ImageDone } from '../dispatch/types.ts';
import { refusalReasons, type RouterMetrics } from '../metrics.ts';

export const routerHeaders = {
  /** The client's whole wait at the router, ms (its slowest image's). */
  waitMs: 'x-zimage-router-wait-ms',
} as const;

export interface GenerateDeps {
  dispatcher: Dispatcher;
  metrics: RouterMetrics;
  limits: RequestLimits;
}

export function generateRoute(app: FastifyInstance, deps: GenerateDeps): void {
  app.addHook('onResponse', async (_request, reply) => {
    deps.metrics.requests.inc({ code: String(reply.statusCode) });
  });
  app.post(runtimePaths.generate, (request, reply) => handle(deps, request, reply));
}

async function handle(deps: GenerateDeps, request: FastifyRequest, reply: FastifyReply) {
  const req = parseGenerationRequest(request.body, deps.limits);
  const { metrics } = deps;
  metrics.arrivedRequests.inc();
  metrics.arrivedImages.inc(req.n);
  const seed = req.seed ?? randomInt(0, maxSeed + 1);
  const client = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableEnded) client.abort();
  });
  let images: ImageDone[];
  try {
    const { prompt, width, height, n, steps } = req;
    images = await deps.dispatcher.submit({ prompt, width, height, n, seed, steps }, client.signal);
  } catch (err) {
    if (!(err instanceof RequestFailure)) throw err;
    return failed(err, deps, request, reply);
  }
  const wait = Math.max(...images.map((i) => i.waitMs));
  void reply.header(routerHeaders.waitMs, String(Math.round(wait)));
  if (images.length === 1) {
    const [image] = images as [ImageDone];
    return reply.header(runtimeHeaders.pod, image.pod).type('application/json').send(image.body);
  }
  request.log.info({ n: req.n, seed, ms: Math.round(wait) }, 'generated');
  return joined(images, seed);
}

interface PodAnswer {
  data: { b64_json: string; seed: number }[];
  size: string;
  timings: { queue_ms: number; generation_ms: number; images: unknown[] };
}

function joined(images: ImageDone[], seed: number) {
  const answers = images.map((i) => JSON.parse(i.body.toString('utf8')) as PodAnswer);
  return {
    created: Math.floor(Date.now() / 1000),
    data: answers.flatMap((a) => a.data),
    seed,
    steps: images[0]!.steps,
    size: answers[0]!.size,
    timings: {
      queue_ms: Math.round(Math.min(...images.map((i) => i.queueMs))),
      generation_ms: answers.reduce((sum, a) => sum + a.timings.generation_ms, 0),
      images: answers.flatMap((a) => a.timings.images),
      pods: images.map((i) => i.pod),
    },
  };
}

function failed(
  err: RequestFailure,
  deps: GenerateDeps,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  if (err.status === clientClosed) {
    request.log.info('client went away; its images were cancelled');
    return reply.code(clientClosed).send();
  }
  if (err.body) {
    // A pod's own answer (400/422/500/504): the client sees what the pod said.
    return reply
      .code(err.status)
      .type(err.contentType ?? 'application/json')
      .send(err.body);
  }
  const reason = refusalReasons.find((r) => r === err.code);
  if (reason) deps.metrics.refusals.inc({ reason });
  throw new ApiError(err.message, {
    status: err.status,
    type: err.status === 429 ? 'rate_limit_error' : 'server_error',
    code: err.code,
    ...(err.retryAfterSeconds === undefined
      ? {}
      : { headers: { 'retry-after': String(err.retryAfterSeconds) } }),
  });
}
