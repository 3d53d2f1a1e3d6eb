/**
 * Error responses in OpenAI's shape, `{error: {message, type, param, code}}`, so OpenAI client
 * libraries surface them as they would OpenAI's own. 4xx messages name the field and the fix;
 * 5xx messages never carry internals (those go to the log, under the request id).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export const apiErrorTypes = [
  'invalid_request_error',
  'authentication_error',
  'rate_limit_error',
  'server_error',
] as const;
export type ApiErrorType = (typeof apiErrorTypes)[number];

export interface ApiErrorInit {
  status: number;
  type: ApiErrorType;
  code: string;
  /** The request field at fault, e.g. "size"; null when no single field is. */
  param?: string | null;
  headers?: Record<string, string>;
  cause?: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly type: ApiErrorType;
  readonly code: string;
  readonly param: string | null;
  readonly headers: Record<string, string>;
  constructor(message: string, init: ApiErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'ApiError';
    this.status = init.status;
    this.type = init.type;
    this.code = init.code;
    this.param = init.param ?? null;
    this.headers = init.headers ?? {};
  }

  body() {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
  }
}

/** 400 for one field. */
export function invalidField(param: string | null, message: string, code: string): ApiError {
  return new ApiError(message, { status: 400, type: 'invalid_request_error', code, param });
}

/** Fastify's own errors (body parsing, limits) in our shape. */
function fromFastify(err: FastifyError, bodyLimit: number, contentType: string): ApiError {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(`request body is larger than the ${bodyLimit}-byte limit`, {
        status: 413,
        type: 'invalid_request_error',
        code: 'body_too_large',
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(
        `content-type "${contentType}" is not supported; send the body as application/json`,
        { status: 415, type: 'invalid_request_error', code: 'unsupported_media_type' },
      );
    default:
      return new ApiError(err.message, {
        status: err.statusCode ?? 400,
        type: 'invalid_request_error',
        code: err.code.toLowerCase(),
      });
  }
}

/**
 * The error handler for every route. ApiErrors are sent as they are; fastify's client errors
 * are translated; anything else is a 500 with a generic message and the request id.
 */
export function errorHandler(bodyLimit: number) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const contentType = request.headers['content-type'] ?? '(none)';
    let api: ApiError;
    if (err instanceof ApiError) api = err;
    else if (isFastifyClientError(err)) {
      api = fromFastify(err, bodyLimit, contentType);
    } else {
      request.log.error({ err }, 'request failed');
      api = new ApiError(
        `internal error; the server log has details under request id ${request.id}`,
        {
          status: 500,
          type: 'server_error',
          code: 'internal_error',
        },
      );
    }
    if (api.status >= 500) request.log.warn({ code: api.code, err: api.message }, 'request failed');
    return reply.code(api.status).headers(api.headers).send(api.body());
  };
}

function isFastifyClientError(err: FastifyError): boolean {
  // Errors from elsewhere (EngineError, plain Error) may carry another code or none at all.
  const code: unknown = err.code;
  return typeof code === 'string' && code.startsWith('FST_') && (err.statusCode ?? 500) < 500;
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  const api = new ApiError(`no route for ${request.method} ${request.url}`, {
    status: 404,
    type: 'invalid_request_error',
    code: 'not_found',
  });
  return reply.code(404).send(api.body());
}
