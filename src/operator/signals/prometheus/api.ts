/**
 * Prometheus's HTTP API for instant queries (POST /api/v1/query), judged by zod: a body that
 * is not the API's (a proxy's HTML page, a truncated answer, a matrix where a vector belongs)
 * is a failure with a reason, never an empty result that would read as "no load".
 *
 * A failure's message ends up in the object's status, readable by whoever reads the object,
 * and the URL is the spec's, so the server may be anything: messages say the HTTP status and
 * a reason of our own words, never text from the body (it may hold internal data).
 */
import { STATUS_CODES } from 'node:http';
import { z } from 'zod';
import { failure, request, type Failure, type FetchLike } from '../http.ts';

/**
 * A sample value as Prometheus encodes it: a string, since JSON has no NaN or infinities
 * ("NaN", "+Inf", "-Inf", "0.25").
 */
const sampleValue = z
  .string()
  .refine((s) => ['NaN', '+Inf', '-Inf'].includes(s) || !Number.isNaN(Number(s)), {
    message: 'must be a number, "NaN", "+Inf" or "-Inf"',
  });

const vectorSample = z.object({
  metric: z.record(z.string(), z.string()),
  value: z.tuple([z.number(), sampleValue]),
});

const success = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('vector'),
    result: z.array(vectorSample),
  }),
  warnings: z.array(z.string()).optional(),
});

const apiError = z.object({
  status: z.literal('error'),
  errorType: z.string(),
  error: z.string(),
});

const response = z.discriminatedUnion('status', [success, apiError]);

export interface VectorSample {
  labels: Record<string, string>;
  /** Parsed: NaN and +/-Infinity survive as such, for the caller to report. */
  value: number;
  /** Epoch ms of the evaluation. */
  at: number;
}

export type VectorResult = { ok: true; samples: VectorSample[]; warnings: string[] } | Failure;

function parseValue(s: string): number {
  // Number('+Inf') is NaN; Go writes infinities as +Inf/-Inf.
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

/**
 * The first issue's field, at most two levels deep: below that the path holds label names
 * from the body (data.result.0.metric.<name>). zod's messages name only expected types.
 */
function zodSummary(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.slice(0, 2).join('.') || '(body)'}: ${issue.message}` : 'invalid';
}

/** "HTTP 502 Bad Gateway": Node's reason phrase, not the server's. */
const httpStatus = (status: number) => `HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();

/** Prometheus's own errorType values; anything else is not worth repeating. */
const errorTypes = new Set([
  'bad_data',
  'timeout',
  'canceled',
  'execution',
  'internal',
  'unavailable',
  'not_found',
  'not_acceptable',
]);

export interface QueryOptions {
  timeoutMs: number;
  fetch?: FetchLike;
}

/** One instant query; resolves to the vector or a Failure, never rejects. */
export async function queryVector(
  baseUrl: string,
  promql: string,
  options: QueryOptions,
): Promise<VectorResult> {
  const url = `${baseUrl.replace(/\/+$/, '')}/api/v1/query`;
  // Prometheus stops evaluating at its own timeout too, so an abandoned query frees its CPU.
  const timeout = `${Math.max(1, Math.floor(options.timeoutMs))}ms`;
  const doFetch = options.fetch ?? fetch;
  const got = await request(url, {
    method: 'POST',
    form: { query: promql, timeout },
    accept: 'application/json',
    timeoutMs: options.timeoutMs,
    // A redirect is an answer (HTTP 3xx), not a hop: following it would take the query to an
    // address the URL policy (url-policy.ts) never saw, 169.254.169.254 included.
    fetch: (input, init) => doFetch(input, { ...init, redirect: 'manual' }),
  });
  if (!got.ok) return got;
  let json: unknown;
  try {
    json = JSON.parse(got.body);
  } catch {
    // A 502 from a proxy in front of Prometheus is HTML: say HTTP status, not "bad JSON".
    if (got.status < 200 || got.status > 299) {
      return failure('HttpStatus', `${url}: ${httpStatus(got.status)}`);
    }
    return failure('BadBody', `${url}: answer is not JSON`);
  }
  const parsed = response.safeParse(json);
  if (!parsed.success) {
    const why = got.status >= 200 && got.status <= 299 ? '' : ` (${httpStatus(got.status)})`;
    return failure(
      got.status >= 200 && got.status <= 299 ? 'BadBody' : 'HttpStatus',
      `${url}: not a Prometheus vector answer${why}: ${zodSummary(parsed.error)}`,
    );
  }
  if (parsed.data.status === 'error') {
    // Prometheus's error text is dropped: from a real Prometheus it is about our own query,
    // from anything else it is whatever the server chose to say.
    const type = errorTypes.has(parsed.data.errorType) ? parsed.data.errorType : 'unknown';
    return failure('QueryError', `${url}: Prometheus error ${type} (${httpStatus(got.status)})`);
  }
  const samples = parsed.data.data.result.map((s) => ({
    labels: s.metric,
    value: parseValue(s.value[1]),
    at: Math.round(s.value[0] * 1000),
  }));
  return { ok: true, samples, warnings: parsed.data.warnings ?? [] };
}
