/**
 * Listening, socket timeouts and shutdown. On SIGTERM (or SIGINT): draining (/readyz 503, new
 * POSTs 503), every admitted request finishes, then the listener, the live-config watch and the
 * engine close, and the process exits 0. If that takes longer than ZIMAGE_SHUTDOWN_GRACE_SECONDS
 * (default: request timeout + 5 s, so a request admitted just before SIGTERM can still finish),
 * close-with-grace exits 1. The pod's terminationGracePeriodSeconds must be longer still, or the
 * kubelet's SIGKILL comes first.
 */
import closeWithGrace from 'close-with-grace';
import type { Server } from 'node:http';
import type { FastifyHttpOptions, FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import type { RuntimeConfig } from './config.ts';
import type { Engine } from './engine.ts';
import type { GenerationQueue } from './queue.ts';
import type { RuntimeState } from './state.ts';

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

export interface ServerDeps {
  app: FastifyInstance;
  config: Pick<RuntimeConfig, 'host' | 'port' | 'shutdownGraceSeconds'>;
  engine: Engine;
  queue: GenerationQueue;
  state: RuntimeState;
  /** The live-config watch, when there is one. */
  liveConfig?: { stop(): void };
  log: Logger;
}

export interface RunningServer {
  address: string;
  /** The engine cannot work any more: stop taking work, answer what is queued, exit 1. */
  fail(reason: string): void;
}

/** Finish admitted work, then release everything. Safe to call more than once. */
export function drainAndClose(deps: Omit<ServerDeps, 'config'>): Promise<void> {
  const { state, queue, log } = deps;
  state.markDraining();
  const { queued, running } = queue.snapshot();
  log.info({ queued, running }, 'draining: no new requests; finishing admitted ones');
  return (async () => {
    await queue.drain();
    deps.liveConfig?.stop();
    await deps.app.close();
    await deps.engine.close();
    log.info('shut down cleanly');
  })();
}

export async function startServer(deps: ServerDeps): Promise<RunningServer> {
  const { app, config, log } = deps;
  const graceMs = config.shutdownGraceSeconds * 1000;
  let closing: Promise<void> | undefined;
  const closeOnce = () => (closing ??= drainAndClose(deps));

  const grace = closeWithGrace(
    {
      delay: graceMs,
      logger: { error: (message: unknown) => log.error({ err: message }, 'shutdown') },
      onTimeout: (delay) =>
        log.error({ delayMs: delay }, 'shutdown grace period over; exiting with work unfinished'),
    },
    async ({ signal, err }) => {
      if (err) log.error({ err }, 'uncaught error; shutting down');
      else log.info({ signal }, 'signal received; shutting down');
      await closeOnce();
    },
  );

  const address = await app.listen({ host: config.host, port: config.port });
  log.info({ address }, 'listening');

  return {
    address,
    fail(reason) {
      deps.state.markFailed(reason);
      log.fatal({ reason }, 'engine failed; exiting so that Kubernetes restarts the pod');
      grace.uninstall();
      // Queued requests fail fast against a broken engine, so this is quick; the timer bounds it.
      // Node's own timer, not the Clock: this backstop must fire even if what uses it hangs.
      setTimeout(() => process.exit(1), graceMs).unref();
      void closeOnce()
        .catch((error: unknown) => log.error({ err: error }, 'shutdown after failure'))
        .finally(() => process.exit(1));
    },
  };
}
