/**
 * POST /v1/images/generations. One request is one queue entry: its `n` images run back to back
 * with seeds seed, seed+1, ... (mod 2^32) under one deadline, so a request never interleaves
 * with another and a client can reproduce image i alone with seed+i.
 */
import { randomInt } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { runtimeHeaders, runtimePaths, type LiveConfig } from '../../contract/runtime.ts';
import { EngineError, type Engine, type GenerateResult } from '../engine.ts';
import type { FitCheck } from '../fit.ts';
import type { RuntimeMetrics } from '../metrics.ts';
import { QueueRejection, type GenerationQueue } from '../queue.ts';
import { formatSize } from '../../contract/size.ts';
import type { RuntimeState } from '../state.ts';
import { ApiError, clientClosed, invalidField, serverCutOff } from '../../image-api/errors.ts';
import { maxSeed, parseGenerationRequest, type RequestLimits } from '../../image-api/request.ts';

export interface GenerateDeps {
  engine: Engine;
  queue: GenerationQueue;
  state: RuntimeState;
  metrics: RuntimeMetrics;
  liveConfig: () => LiveConfig;
  limits: RequestLimits;
  /** The card model's VRAM check; absent: none (fit.ts says when). */
  fit?: FitCheck | undefined;
}

export function generateRoute(app: FastifyInstance, deps: GenerateDeps): void {
  const { metrics } = deps;
  // 499s are counted where the client goes away (onRequestAbort below, and handle): their
  // answer rarely finishes, so onResponse cannot count them, and must not count them twice.
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode === clientClosed) return;
    metrics.requests.inc({ code: String(reply.statusCode) });
    metrics.requestDuration.observe(reply.elapsedTime / 1000);
  });
  // The body never arrived whole: the client hung up (the error handler logs it), or the
  // server cut it off for being too slow (408, logged where it is answered).
  app.addHook('onRequestAbort', (request, done) => {
    metrics.requests.inc({ code: String(serverCutOff(request) ?? clientClosed) });
    done();
  });
  app.post(runtimePaths.generate, (request, reply) => handle(deps, request, reply));
}

async function handle(deps: GenerateDeps, request: FastifyRequest, reply: FastifyReply) {
  const { engine, queue, state, metrics } = deps;
  const arrived = performance.now();
  if (!state.ready()) throw notReady(state.phase(), state.failureReason());
  const req = parseGenerationRequest(request.body, deps.limits);
  const seed = req.seed ?? randomInt(0, maxSeed + 1);
  const steps = req.steps ?? deps.liveConfig().steps;
  const tooBig = deps.fit?.(req, steps);
  if (tooBig) {
    throw new ApiError(tooBig, {
      status: 422,
      type: 'invalid_request_error',
      code: 'does_not_fit',
      param: 'size',
    });
  }

  // The client hanging up frees its queue slot, or stops its generation at the next step.
  const client = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableEnded) client.abort();
  });
  let startedAt = arrived;
  const run = async (signal: AbortSignal): Promise<GenerateResult[]> => {
    startedAt = performance.now();
    const results: GenerateResult[] = [];
    for (let i = 0; i < req.n; i++) {
      const job = { prompt: req.prompt, width: req.width, height: req.height, steps };
      const result = await metrics.busy.track(
        job,
        engine.generate(
          { ...job, seed: (seed + i) % (maxSeed + 1) },
          { signal, onStep: (_index, _total, ms) => metrics.stepDuration.observe(ms / 1000) },
        ),
      );
      const { denoiseMs, totalMs } = result.timings;
      queue.estimator.observe({ width: req.width, height: req.height, steps, denoiseMs, totalMs });
      metrics.generationDuration.observe(totalMs / 1000);
      metrics.images.inc();
      results.push(result);
    }
    return results;
  };

  let results: GenerateResult[];
  try {
    const work = { images: req.n, width: req.width, height: req.height, steps };
    results = await queue.submit({ run, work, signal: client.signal });
  } catch (err) {
    if (client.signal.aborted) {
      metrics.requests.inc({ code: String(clientClosed) });
      request.log.info({ seed, steps }, 'client went away; generation dropped');
      return reply.code(clientClosed).send();
    }
    throw toApiError(err, queue);
  }
  const done = performance.now();
  // For a router in front (src/router/backend.ts): this answer's engine times and the work the
  // pod still holds, so it can place the next image without parsing this body.
  const sum = (pick: (r: GenerateResult) => number) => results.reduce((a, r) => a + pick(r), 0);
  void reply.headers({
    [runtimeHeaders.imageMs]: sum((r) => r.timings.totalMs).toFixed(1),
    [runtimeHeaders.denoiseMs]: sum((r) => r.timings.denoiseMs).toFixed(1),
    [runtimeHeaders.steps]: String(steps),
    [runtimeHeaders.backlogMs]: String(Math.round(queue.backlogMs())),
  });
  request.log.info(
    { size: formatSize(req), n: req.n, seed, steps, ms: Math.round(done - arrived) },
    'generated',
  );
  return {
    created: Math.floor(Date.now() / 1000),
    data: results.map((r) => ({ b64_json: Buffer.from(r.png).toString('base64'), seed: r.seed })),
    seed,
    steps,
    size: formatSize(req),
    timings: {
      queue_ms: Math.round(startedAt - arrived),
      generation_ms: Math.round(done - startedAt),
      // 0.1 ms resolution: the overhead benchmark subtracts these from the client's time.
      images: results.map(({ timings: t }) => ({
        encode_ms: tenths(t.encodeMs),
        denoise_ms: tenths(t.denoiseMs),
        decode_ms: tenths(t.decodeMs),
        total_ms: tenths(t.totalMs),
        session_create_ms: tenths(t.sessionCreateMs),
      })),
    },
  };
}

const tenths = (ms: number) => Math.round(ms * 10) / 10;

function notReady(phase: string, failure: string | undefined): ApiError {
  const why: Record<string, string> = {
    starting: 'the model is still loading',
    recovering: 'the engine is recovering from an out-of-memory failure',
    draining: 'the server is shutting down',
    failed: `the engine failed (${failure ?? 'unknown'}) and the server is restarting`,
  };
  return new ApiError(`not ready: ${why[phase] ?? phase}; retry shortly`, {
    status: 503,
    type: 'server_error',
    code: phase === 'draining' ? 'draining' : 'not_ready',
    headers: { 'retry-after': '1' },
  });
}

function toApiError(err: unknown, queue: GenerationQueue): ApiError {
  if (err instanceof QueueRejection) return fromQueue(err);
  if (!(err instanceof EngineError)) throw err;
  switch (err.code) {
    case 'PROMPT_TOO_LONG':
      return invalidField('prompt', `prompt: ${err.message}`, 'prompt_too_long');
    case 'OUT_OF_MEMORY':
      return new ApiError('the engine ran out of memory; it is recovering, retry shortly', {
        status: 503,
        type: 'server_error',
        code: 'out_of_memory',
        headers: { 'retry-after': String(queue.estimateWaitSeconds()) },
        cause: err,
      });
    case 'CANCELLED':
      return new ApiError('the generation was cancelled', {
        status: 503,
        type: 'server_error',
        code: 'cancelled',
        cause: err,
      });
    default:
      // Unknown internals reach the error handler, which logs them and answers a bare 500.
      throw err;
  }
}

function fromQueue(err: QueueRejection): ApiError {
  switch (err.reason) {
    case 'full':
      return new ApiError(err.message, {
        status: 429,
        type: 'rate_limit_error',
        code: 'queue_full',
        headers: { 'retry-after': String(err.retryAfterSeconds ?? 1) },
      });
    case 'late':
      return new ApiError(err.message, {
        status: 429,
        type: 'rate_limit_error',
        code: 'would_miss_deadline',
        headers: { 'retry-after': String(err.retryAfterSeconds ?? 1) },
      });
    case 'draining':
      return new ApiError(`not ready: ${err.message}; retry on another replica`, {
        status: 503,
        type: 'server_error',
        code: 'draining',
        headers: { 'retry-after': '1' },
      });
    default:
      return new ApiError(err.message, {
        status: 504,
        type: 'server_error',
        code: 'deadline_exceeded',
      });
  }
}
