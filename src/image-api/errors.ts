/**
 * Error responses in OpenAI's shape, `{error: {message, type, param, code}}`, so OpenAI client
 * libraries surface them as they would OpenAI's own. 4xx messages name the field and the fix;
 * 5xx messages never carry internals (those go to the log, under the request id).
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/** Why a request never arrived whole (zimage_client_errors_total{reason}). */
export const clientErrorReasons = [
  /** The client hung up while sending the body (the API also counts it as 499). */
  'aborted',
  /** Headers and body not received within the server's 30 s: 408. */
  'timeout',
  /** Not HTTP that node can parse (request line, Content-Length, ...): 400. */
  'malformed',
  /** Headers over node's 16 KiB limit: 431. */
  'headers_too_large',
] as const;
export type ClientErrorReason = (typeof clientErrorReasons)[number];

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
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      // fastify's own JSON parser, on routes outside the API (the API has parseJsonBody).
      return new ApiError('request body is not valid JSON', {
        status: 400,
        type: 'invalid_request_error',
        code: 'invalid_json',
      });
    default:
      // E.g. FST_ERR_CTP_INVALID_CONTENT_LENGTH -> invalid_content_length.
      return new ApiError(err.message, {
        status: err.statusCode ?? 400,
        type: 'invalid_request_error',
        code: err.code.replace(/^FST_ERR_(CTP_)?/, '').toLowerCase(),
      });
  }
}

/** Status for a request whose client went away before the answer (nginx's convention). */
export const clientClosed = 499;

/**
 * Connections clientErrorHandler answered and closed, with the status it sent. Closing one
 * mid-body fails its request with "aborted" as a hang-up would: this tells the two apart.
 */
const answeredByServer = new WeakMap<object, number>();

/** The status the server cut this request off with (408 for too slow), if it did. */
export function serverCutOff(request: FastifyRequest): number | undefined {
  return answeredByServer.get(request.raw.socket);
}

export interface ErrorHandlerOptions {
  bodyLimit: number;
  /** A client hung up or broke the protocol (zimage_client_errors_total). */
  onClientError: (reason: ClientErrorReason) => void;
}

/**
 * The error handler for every route. ApiErrors are sent as they are; fastify's client errors
 * are translated; a client that hung up mid-body is a client event (info, counted), not a
 * failure; anything else is a 500 with a generic message and the request id.
 */
export function errorHandler({ bodyLimit, onClientError }: ErrorHandlerOptions) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (request.raw.aborted) {
      // Node's IncomingMessage failed with "aborted" (ECONNRESET): nobody is left to answer.
      const status = serverCutOff(request);
      if (status !== undefined) return reply.code(status).send();
      onClientError('aborted');
      request.log.info({ code: err.code }, 'client went away before sending the whole request');
      return reply.code(clientClosed).send();
    }
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

export interface ClientErrorOptions {
  /** Makes the x-request-id (the same generator fastify uses for requests). */
  requestId: () => string;
  log: FastifyBaseLogger;
  onClientError: (reason: ClientErrorReason) => void;
  /** The server's limit for receiving headers and body, named in the 408 message. */
  receiveTimeoutMs: number | undefined;
}

/** Node's HTTP errors before fastify has a request: status, code, reason, message. */
function fromClientError(
  err: NodeJS.ErrnoException & { reason?: string },
  receiveTimeoutMs: number | undefined,
): { status: number; reason: ClientErrorReason; api: ApiError } {
  const invalid = (status: number, code: string, message: string) =>
    new ApiError(message, { status, type: 'invalid_request_error', code });
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT': {
      const limit = receiveTimeoutMs ? ` within ${Math.round(receiveTimeoutMs / 1000)} s` : '';
      const message = `the request (headers and body) was not received${limit}; send it without pauses`;
      return { status: 408, reason: 'timeout', api: invalid(408, 'request_timeout', message) };
    }
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        reason: 'headers_too_large',
        api: invalid(431, 'headers_too_large', 'the request headers are larger than 16 KiB'),
      };
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return {
        status: 400,
        reason: 'malformed',
        api: invalid(
          400,
          'invalid_content_length',
          `invalid Content-Length header: ${err.reason ?? err.message}`,
        ),
      };
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return {
        status: 400,
        reason: 'malformed',
        api: invalid(
          400,
          'invalid_transfer_encoding',
          `invalid Transfer-Encoding header: ${err.reason ?? err.message}`,
        ),
      };
    default:
      return {
        status: 400,
        reason: 'malformed',
        api: invalid(400, 'invalid_http', `malformed HTTP request: ${err.reason ?? err.message}`),
      };
  }
}

/**
 * fastify's clientErrorHandler: errors node's HTTP parser raises before there is a request (a
 * request not received within the timeouts, malformed HTTP, a bad Content-Length, oversized
 * headers). Answered in the same envelope, with an x-request-id, instead of fastify's own
 * `{"error":"Bad Request","message":"Client Error"}`; then the connection closes, as node's
 * own handler does (the parser cannot find the next request on it).
 */
export function clientErrorHandler(options: ClientErrorOptions) {
  return (err: NodeJS.ErrnoException, socket: Duplex): void => {
    // The client reset or closed the connection mid-request: nobody is left to answer (a
    // request it had begun is counted as aborted by errorHandler).
    if (err.code === 'ECONNRESET' || err.code === 'HPE_INVALID_EOF_STATE' || socket.destroyed) {
      socket.destroy();
      return;
    }
    const { status, reason, api } = fromClientError(err, options.receiveTimeoutMs);
    const id = options.requestId();
    options.onClientError(reason);
    options.log.info({ reqId: id, code: err.code, status }, `client error: ${api.message}`);
    answeredByServer.set(socket, status);
    if (socket.writable) {
      const body = JSON.stringify(api.body());
      socket.write(
        [
          `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
          'content-type: application/json; charset=utf-8',
          `content-length: ${Buffer.byteLength(body)}`,
          `x-request-id: ${id}`,
          'connection: close',
          '',
          body,
        ].join('\r\n'),
      );
    }
    socket.destroy();
  };
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  const api = new ApiError(`no route for ${request.method} ${request.url}`, {
    status: 404,
    type: 'invalid_request_error',
    code: 'not_found',
  });
  return reply.code(404).send(api.body());
}
