/** The runtime (createRuntime) over a FakeEngine, for app.inject() and loopback tests. */
import net from 'node:net';
import { pino, type Logger } from 'pino';
import { afterEach } from 'vitest';
import { runtimeEnv, runtimePaths, type LiveConfig } from '../../src/contract/runtime.ts';
import type { AppDeps } from '../../src/runtime/app.ts';
import { loadConfig } from '../../src/runtime/config.ts';
import { createRuntime } from '../../src/runtime/create-runtime.ts';
import type { Clock } from '../../src/contract/clock.ts';
import { settle } from './fake-clock.ts';
import { FakeEngine } from './fake-engine.ts';

export interface TestAppOptions {
  env?: Record<string, string>;
  engine?: FakeEngine;
  clock?: Clock;
  /** The live config the runtime starts with (its ZIMAGE_STEPS and ZIMAGE_OFFLOAD). */
  live?: LiveConfig;
  /** Default true: the engine has started. */
  started?: boolean;
  /** Default: silent. */
  logger?: Logger;
  /** Default: none (the runtime's own socket timeouts are for the listening process). */
  serverOptions?: AppDeps['serverOptions'];
}

export async function testApp(options: TestAppOptions = {}) {
  const live = options.live
    ? { [runtimeEnv.steps]: String(options.live.steps), [runtimeEnv.offload]: options.live.offload }
    : {};
  const config = loadConfig({ ...live, ...options.env }, () => {
    throw new Error('no files in unit tests');
  });
  const engine = options.engine ?? new FakeEngine();
  const runtime = await createRuntime(config, {
    env: {},
    log: options.logger ?? pino({ level: 'silent' }),
    engine: () => engine,
    ...(options.clock ? { clock: options.clock } : {}),
    serverOptions: options.serverOptions ?? {},
  });
  // The timings a real engine reports after start(), as /readyz shows them.
  if (options.started ?? true)
    runtime.state.markStarted({ sessionsSeconds: 1.5, generationSeconds: 0.5 });
  return { ...runtime, config, engine };
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

/** A logger that keeps its lines (level, msg, ...) for assertions. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** When the connection closed, in ms after connecting. */
  closedAfterMs: number;
}

export interface RawConnection {
  write(text: string): void;
  /** Hang up from the client side. */
  destroy(): void;
  /** What came back, once the connection closed (either side). */
  answer: Promise<RawAnswer>;
}

/**
 * A TCP connection to write raw HTTP on, for what HTTP clients refuse to send (malformed
 * requests, pauses, half a request held open); resolves once connected.
 */
export function rawConnection(port: number): Promise<RawConnection> {
  return new Promise((resolveConnected, rejectConnected) => {
    const started = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    let failure: Error | undefined;
    socket.on('data', (data) => (received += data.toString('utf8')));
    // A reset after the answer (the server destroys the socket) is not a failure.
    socket.on('error', (err) => (received ? undefined : (failure = err)));
    const answer = new Promise<RawAnswer>((resolve, reject) =>
      socket.on('close', () =>
        failure && !received
          ? reject(failure)
          : resolve({ ...parseRaw(received), closedAfterMs: performance.now() - started }),
      ),
    );
    socket.on('connect', () =>
      resolveConnected({
        write: (text) => void (socket.writable && socket.write(text)),
        destroy: () => socket.destroy(),
        answer,
      }),
    );
    socket.once('error', rejectConnected);
  });
}

/**
 * Write `chunks` one after another, `gapMs` apart, and read what comes back until the server
 * closes; `hangUpAfterMs` destroys the socket from the client side.
 */
export async function rawRequest(
  port: number,
  chunks: string[],
  options: { gapMs?: number; hangUpAfterMs?: number } = {},
): Promise<RawAnswer> {
  const connection = await rawConnection(port);
  const timers = chunks.map((chunk, i) =>
    setTimeout(() => connection.write(chunk), i * (options.gapMs ?? 0)),
  );
  if (options.hangUpAfterMs !== undefined)
    timers.push(setTimeout(() => connection.destroy(), options.hangUpAfterMs));
  try {
    return await connection.answer;
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }
}

function parseRaw(text: string): Omit<RawAnswer, 'closedAfterMs'> {
  const end = text.indexOf('\r\n\r\n');
  const [statusLine = '', ...headerLines] = text
    .slice(0, end < 0 ? text.length : end)
    .split('\r\n');
  const headers = Object.fromEntries(
    headerLines.map((line) => {
      const at = line.indexOf(':');
      return [line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim()];
    }),
  );
  return {
    status: Number(statusLine.split(' ')[1] ?? 0),
    headers,
    body: end < 0 ? '' : text.slice(end + 4),
  };
}
