/**
 * Listening, socket timeouts and shutdown. On SIGTERM (or SIGINT): draining (/readyz 503, new
 * POSTs 503), every admitted request finishes, then the listener, the live-config watch and the
 * engine close, and the process exits 0. If that takes longer than ZIMAGE_SHUTDOWN_GRACE_SECONDS
 * (default: request timeout + 5 s, so a request admitted just before SIGTERM can still finish),
 * close-with-grace exits 1. The pod's terminationGracePeriodSeconds must be longer still, or the
 * kubelet's SIGKILL comes first.
 */
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { RuntimeConfig } from './config.ts';
import type { Engine } from './engine.ts';
import type { GenerationQueue } from './queue.ts';
import type { RuntimeState } from './state.ts';

export { receiveTimeoutMs, serverTimeouts } from '../image-api/server-timeouts.ts';

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
