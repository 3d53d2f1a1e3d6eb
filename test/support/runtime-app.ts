/** The runtime's fastify app over a FakeEngine, for app.inject() tests. */
import { pino } from 'pino';
import { afterEach } from 'vitest';
import { runtimePaths, type LiveConfig } from '../../src/contract/runtime.ts';
import { buildApp, createQueue } from '../../src/runtime/app.ts';
import { loadConfig } from '../../src/runtime/config.ts';
import { createRuntimeMetrics } from '../../src/runtime/metrics.ts';
import type { Clock } from '../../src/contract/clock.ts';
import { RuntimeState } from '../../src/runtime/state.ts';
import { settle } from './fake-clock.ts';
import { FakeEngine } from './fake-engine.ts';

export interface TestAppOptions {
  env?: Record<string, string>;
  engine?: FakeEngine;
  clock?: Clock;
  live?: LiveConfig;
  /** Default true: the engine has started. */
  started?: boolean;
}

export async function testApp(options: TestAppOptions = {}) {
  const config = loadConfig(options.env ?? {}, () => {
    throw new Error('no files in unit tests');
  });
  const engine = options.engine ?? new FakeEngine();
  const state = new RuntimeState();
  if (options.started ?? true) state.markStarted({ sessionsSeconds: 1.5, generationSeconds: 0.5 });
  const live: LiveConfig = options.live ?? { steps: config.steps, offload: config.offload };
  const metrics = createRuntimeMetrics({
    info: () => engine.info(),
    steps: () => live.steps,
    ready: () => state.ready(),
  });
  const queue = createQueue(config, metrics, options.clock);
  const app = await buildApp({
    config,
    engine,
    queue,
    state,
    metrics,
    liveConfig: () => live,
    logger: pino({ level: 'silent' }),
  });
  return { app, config, engine, state, metrics, queue, live };
}

export type TestApp = Awaited<ReturnType<typeof testApp>>;

/** POST a generation; a string body is sent as it is (for malformed JSON). */
export function post(t: TestApp, body: unknown, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST',
    url: runtimePaths.generate,
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

/** Wait (in real event-loop turns, not fake time) until injected requests reach the queue. */
export async function untilQueued(t: TestApp, queued: number, running = 1): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const s = t.queue.snapshot();
    if (s.queued === queued && s.running === running) return;
    await settle();
  }
  throw new Error(`queue never reached ${queued} queued, ${running} running`);
}

/** A `setup(options)` that builds one test app per test and closes it after the test. */
export function testAppPerTest(): (options?: TestAppOptions) => Promise<TestApp> {
  let current: TestApp | undefined;
  afterEach(async () => {
    await current?.app.close();
    current = undefined;
  });
  return async (options = {}) => (current = await testApp(options));
}
