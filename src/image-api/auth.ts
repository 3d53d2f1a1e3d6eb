/**
 * Optional bearer-token auth for the API (probes and /metrics stay open: the kubelet and
 * Prometheus carry no token). Which tokens pass, compared in constant time, is tokens.ts's.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.ts';
import type { Tokens } from './tokens.ts';

const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** An onRequest hook: it runs before the body is read, so unauthenticated bodies are never parsed. */
export function bearerAuth(tokens: Pick<Tokens, 'accepts'>) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    const given = header === undefined ? undefined : bearer.exec(header)?.[1];
    if (given === undefined) {
      throw unauthorized(
        'missing bearer token: send "Authorization: Bearer <token>"',
        'Bearer realm="zimage"',
      );
    }
    if (!tokens.accepts(given)) {
      throw unauthorized('invalid bearer token', 'Bearer realm="zimage", error="invalid_token"');
    }
  };
}

function unauthorized(message: string, challenge: string): ApiError {
  return new ApiError(message, {
    status: 401,
    type: 'authentication_error',
    code: 'unauthorized',
    headers: { 'www-authenticate': challenge },
  });
}
