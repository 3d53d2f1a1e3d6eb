/** /healthz (process alive), /readyz (caches synced and, with election, either leading or standing by), /metrics. */
import Fastify from 'fastify';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.ts';

export interface HttpState {
  /** Informer caches have listed once. */
  synced: () => boolean;
  leader: () => boolean;
}

export async function startHttp(
  host: string,
  port: number,
  metrics: Metrics,
  state: HttpState,
  log: Logger,
): Promise<{ close: () => Promise<unknown> }> {
  const app = Fastify({
    // Probes and scrapes every few seconds: request logs (info) would drown everything else.
    loggerInstance: log.child({ component: 'http' }, { level: 'warn' }),
  });
  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const body = { synced: state.synced(), leader: state.leader() };
    return reply.code(body.synced ? 200 : 503).send(body);
  });
  app.get('/metrics', async (_req, reply) =>
    reply
      .header('content-type', metrics.registry.contentType)
      .send(await metrics.registry.metrics()),
  );
  await app.listen({ host, port });
  return app;
}
