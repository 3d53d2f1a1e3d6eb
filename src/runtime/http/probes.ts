/**
 * GET /healthz: the process is alive and its event loop turns (the pipeline runs in a worker
 * thread, so this answers during a generation); it never asks the engine anything.
 * GET /readyz: 200 only once sessions exist and the warm-up image ran, and neither draining nor
 * recovering from an out-of-memory failure; the body says what runs, for humans and tests.
 * GET /metrics: Prometheus text format.
 */
import type { FastifyInstance } from 'fastify';
import { runtimePaths, type LiveConfig } from '../../contract/runtime.ts';
import type { Engine, EngineInfo } from '../engine.ts';
import type { GpuInfo } from '../fit.ts';
import type { RuntimeMetrics } from '../metrics.ts';
import type { GenerationQueue } from '../queue.ts';
import type { RuntimeState } from '../state.ts';

export interface ProbeDeps {
  engine: Engine;
  state: RuntimeState;
  queue: GenerationQueue;
  metrics: RuntimeMetrics;
  liveConfig: () => LiveConfig;
  /** The card the runtime checks against (and paces for); absent when none is configured. */
  gpu?: GpuInfo;
}

export function probeRoutes(app: FastifyInstance, deps: ProbeDeps): void {
  app.get(runtimePaths.healthz, () => ({ status: 'ok' }));

  app.get(runtimePaths.readyz, async (_request, reply) => {
    const ready = deps.state.ready();
    const info = safeInfo(deps.engine);
    const startup = deps.state.startupTimings();
    return reply.code(ready ? 200 : 503).send({
      status: deps.state.phase(),
      ...(deps.state.failureReason() === undefined ? {} : { reason: deps.state.failureReason() }),
      engine: info && {
        ep: info.executionProvider,
        attention: info.attention,
        offload: info.offload,
        steps: deps.liveConfig().steps,
        transformerVariant: info.transformerVariant,
        ...(info.transformerGraphRewrites
          ? { transformerGraphRewrites: info.transformerGraphRewrites }
          : {}),
        attentionKernel: info.attentionKernel,
        resident: info.resident,
        componentProviders: info.componentProviders,
      },
      ...(startup ? { startup } : {}),
      ...(deps.gpu ? { gpu: deps.gpu } : {}),
      queue: deps.queue.snapshot(),
    });
  });

  app.get(runtimePaths.metrics, async (_request, reply) =>
    reply
      .header('content-type', deps.metrics.registry.contentType)
      .send(await deps.metrics.registry.metrics()),
  );
}

/** An engine that has not started may have nothing to report yet. */
function safeInfo(engine: Engine): EngineInfo | undefined {
  try {
    return engine.info();
  } catch {
    return undefined;
  }
}
