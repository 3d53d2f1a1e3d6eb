/**
 * The router's HTTP client to runtime pods: one image per request (n = 1), over undici's
 * keep-alive pool (undici is Node's own HTTP client, maintained by the Node core team; its
 * `request()` skips fetch's WHATWG stream wrapping, which matters for the 1 ms overhead goal).
 *
 * What comes back, as the dispatcher needs it:
 * - 200: the body as it came (passed through to a single-image client untouched) and the
 *   engine timings from the runtime's response headers, for the per-pod rate estimate;
 * - 429 (the pod's queue is full of other routers' work) and 503 (draining, not ready,
 *   recovering), and a connection refused or reset before the answer: `retry`, on another pod;
 * - 401 (the pod refused the router's token): once more with the token the router sent before
 *   its token file changed, while that one's grace lasts (pods see a rotated Secret at their
 *   own moment); a 401 after that is the router's fault, not the client's: 502;
 * - anything else: `fail`, the pod's own answer for the client.
 */
import { Agent, request, errors } from 'undici';
import { runtimeHeaders, runtimePaths } from '../contract/runtime.ts';
import { ApiError } from '../image-api/errors.ts';
import type { Tokens } from '../image-api/tokens.ts';
import type { PodTarget, RetryReason, SendOutcome } from './dispatch/types.ts';
import { podBody, type ImageSpec } from './dispatch/fanout.ts';

export interface BackendOptions {
  /** Bearer token for the pods' API, when they require one. */
  tokens?: Pick<Tokens, 'send'> | undefined;
  /** Longest a pod may take for one image (the request deadline). */
  timeoutMs: number;
}

export function createBackend(options: BackendOptions) {
  // Keep-alive 60 s: a busy router reuses one connection per pod slot; idle ones close well
  // before a runtime's 72 s keep-alive (server.ts) so neither side races the other's close.
  const agent = new Agent({
    keepAliveTimeout: 60_000,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  const post = (pod: PodTarget, image: ImageSpec, signal: AbortSignal, token?: string) =>
    request(`${pod.url}${runtimePaths.generate}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: podBody(image),
      signal,
      dispatcher: agent,
    });

  async function send(pod: PodTarget, image: ImageSpec, signal: AbortSignal): Promise<SendOutcome> {
    const token = options.tokens?.send();
    let res;
    try {
      res = await post(pod, image, signal, token?.current);
      if (res.statusCode === 401 && token?.previous) {
        await res.body.dump();
        res = await post(pod, image, signal, token.previous);
      }
    } catch (err) {
      return { kind: 'retry', reason: retryReason(err), detail: describe(err) };
    }
    let body: Buffer;
    try {
      body = Buffer.from(await res.body.arrayBuffer());
    } catch (err) {
      // The pod closed mid-answer (killed while sending): nothing usable arrived.
      return { kind: 'retry', reason: 'connection', detail: describe(err) };
    }
    const status = res.statusCode;
    if (status === 200) return ok(body, res.headers);
    if (status === 503)
      return { kind: 'retry', reason: 'draining', detail: `${pod.name} answered 503` };
    if (status === 429)
      return { kind: 'retry', reason: 'busy', detail: `${pod.name} answered 429` };
    if (status === 401) return tokenRefused(pod, token !== undefined);
    const type = res.headers['content-type'];
    return { kind: 'fail', status, body, contentType: Array.isArray(type) ? type[0] : type };
  }

  return { send, close: () => agent.close() };
}

type Headers = Record<string, string | string[] | undefined>;

/** The client's token was fine (the router checked it); the pod refused the router's own. */
function tokenRefused(pod: PodTarget, sent: boolean): SendOutcome {
  const why = sent
    ? "the router's pod token is not the pods' token"
    : 'the router has no pod token (ZIMAGE_POD_API_TOKEN_FILE)';
  const error = new ApiError(`runtime pod ${pod.name} refused the router: ${why} (spec.auth)`, {
    status: 502,
    type: 'server_error',
    code: 'pod_token_refused',
  });
  return {
    kind: 'fail',
    status: 502,
    body: Buffer.from(JSON.stringify(error.body())),
    contentType: 'application/json; charset=utf-8',
  };
}

function ok(body: Buffer, headers: Headers): SendOutcome {
  const num = (name: string) => {
    const v = headers[name];
    const n = Number(Array.isArray(v) ? v[0] : v);
    return v === undefined || !Number.isFinite(n) ? undefined : n;
  };
  let totalMs = num(runtimeHeaders.imageMs);
  let denoiseMs = num(runtimeHeaders.denoiseMs);
  let steps = num(runtimeHeaders.steps);
  if (totalMs === undefined || denoiseMs === undefined || steps === undefined) {
    // A runtime without the timing headers: read them from the body (costs a JSON parse).
    const parsed = JSON.parse(body.toString('utf8')) as {
      steps: number;
      timings: { images: { total_ms: number; denoise_ms: number }[] };
    };
    const image = parsed.timings.images[0];
    totalMs = image?.total_ms ?? 0;
    denoiseMs = image?.denoise_ms ?? 0;
    steps = parsed.steps;
  }
  return { kind: 'ok', body, totalMs, denoiseMs, steps, backlogMs: num(runtimeHeaders.backlogMs) };
}

function retryReason(err: unknown): RetryReason {
  const code = (err as { code?: unknown }).code;
  return code === 'ECONNREFUSED' ? 'refused' : 'connection';
}

function describe(err: unknown): string {
  if (err instanceof errors.UndiciError) return `${err.code}: ${err.message}`;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : String(err);
}
