/**
 * Socket timeouts of the API's HTTP servers (the runtime's and the router's), for fastify's
 * server options.
 */
import type { Server } from 'node:http';
import type { FastifyHttpOptions, FastifyServerOptions } from 'fastify';

/**
 * Receiving a request (headers and a <= 64 KiB body) takes milliseconds; 30 s stops a slow
 * client from holding a socket forever. Counted from the request's first byte (from the
 * connection's start for its first request) to its last; generation time does not count.
 */
export const receiveTimeoutMs = 30_000;

/** Socket timeouts for buildApp's serverOptions. */
export const serverTimeouts = {
  // Load balancers keep idle upstream connections for 60 s (AWS ALB, GCP 600 s); closing ours
  // first would race their reuse and surface as 502s, so idle connections live 72 s.
  keepAliveTimeout: 72_000,
  // fastify sets server.requestTimeout from this after creating the server.
  requestTimeout: receiveTimeoutMs,
  http: {
    // Node checks both limits only every connectionsCheckingInterval (default 30 s), so a 30 s
    // limit cut slow clients anywhere in 30..60 s; checking every second cuts at 30..31 s. A
    // check walks the open connections (a few per pod): microseconds.
    connectionsCheckingInterval: 1_000,
    // Headers alone would get node's default 60 s: the whole request has 30 s, headers too.
    headersTimeout: receiveTimeoutMs,
  },
} satisfies Pick<FastifyServerOptions, 'keepAliveTimeout' | 'requestTimeout'> &
  Pick<FastifyHttpOptions<Server>, 'http'>;
