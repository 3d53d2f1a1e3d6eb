/**
 * Optional bearer-token auth for the API (probes and /metrics stay open: the kubelet and
 * Prometheus carry no token). The comparison hashes both sides with SHA-256 first, so
 * timingSafeEqual always compares 32 bytes: the time taken reveals neither the token's
 * content nor its length.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.ts';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** An onRequest hook: it runs before the body is read, so unauthenticated bodies are never parsed. */
export function bearerAuth(token: string) {
  const expected = digest(token);
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    const given = header === undefined ? undefined : bearer.exec(header)?.[1];
    if (given === undefined) {
      throw unauthorized(
        'missing bearer token: send "Authorization: Bearer <token>"',
        'Bearer realm="zimage"',
      );
    }
    if (!timingSafeEqual(digest(given), expected)) {
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
