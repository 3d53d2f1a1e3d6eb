/**
 * One HTTP request of a signal source, with a deadline, whose failure is a value: every way a
 * Prometheus query or a pod scrape can fail gets a reason from one list (the
 * scrape-errors metric's `reason` label), and nothing throws past this file.
 */

/** Why a query or scrape failed. */
export const fetchErrorReasons = {
  /** No answer within the deadline (AbortSignal.timeout). */
  Timeout: 'Timeout',
  /** Connection refused: nothing listens (Prometheus down, pod gone). */
  Refused: 'Refused',
  /** Any other transport failure (reset, DNS, unreachable). */
  Network: 'Network',
  /** An HTTP status other than 2xx (and, for Prometheus, not its own JSON error either). */
  HttpStatus: 'HttpStatus',
  /** A body that is not what the source speaks (not Prometheus API JSON, unparsable text). */
  BadBody: 'BadBody',
  /** Prometheus answered status "error" (bad query, evaluation timeout, overload). */
  QueryError: 'QueryError',
} as const;
export type FetchErrorReason = (typeof fetchErrorReasons)[keyof typeof fetchErrorReasons];

export interface Failure {
  ok: false;
  reason: FetchErrorReason;
  message: string;
}

export type Fetched = { ok: true; status: number; body: string } | Failure;

/** The global fetch's signature; injectable so tests can count the requests a tick sends. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export function failure(reason: FetchErrorReason, message: string): Failure {
  return { ok: false, reason, message };
}

function errorCode(err: unknown): string | undefined {
  // undici wraps the socket error: TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }).
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

function classify(err: unknown, url: string, timeoutMs: number): Failure {
  const name = (err as { name?: unknown } | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return failure('Timeout', `${url}: no answer within ${timeoutMs} ms`);
  }
  const code = errorCode(err);
  if (code === 'ECONNREFUSED') return failure('Refused', `${url}: connection refused`);
  const detail = code ?? (err instanceof Error ? err.message : String(err));
  return failure('Network', `${url}: ${detail}`);
}

export interface RequestOptions {
  timeoutMs: number;
  fetch?: FetchLike;
  method?: 'GET' | 'POST';
  /** A form body (POST): Prometheus takes long queries this way, never cut by a URL limit. */
  form?: Record<string, string>;
  accept?: string;
}

/** Fetch `url`; resolves to the status and body, or to a Failure with its reason. */
export async function request(url: string, options: RequestOptions): Promise<Fetched> {
  const doFetch = options.fetch ?? fetch;
  const init: RequestInit = {
    method: options.method ?? 'GET',
    signal: AbortSignal.timeout(options.timeoutMs),
    headers: {
      ...(options.accept ? { accept: options.accept } : {}),
      ...(options.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    ...(options.form ? { body: new URLSearchParams(options.form).toString() } : {}),
  };
  try {
    const res = await doFetch(url, init);
    // The body read shares the deadline: a server that sends headers and stalls times out too.
    const body = await res.text();
    return { ok: true, status: res.status, body };
  } catch (err) {
    return classify(err, url, options.timeoutMs);
  }
}

/**
 * Run `fn` over `items` with at most `limit` at once; results in input order. One slow or
 * failing item delays only its own slot (aibrix#1032: one pod's failed scrape blocked all).
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
