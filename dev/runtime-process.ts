/**
 * Starts the real runtime (`node src/runtime/main.ts`) as a child process on a free loopback
 * port, with the committed tiny model on the CPU EP unless `env` says otherwise.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from './ports.ts';
import { spawnManaged, waitFor, type ManagedProcess } from './process.ts';
import { repoRoot, tinyModelDir } from './paths.ts';

export interface RuntimeProcess {
  url: string;
  port: number;
  proc: ManagedProcess;
  /** GET/POST helpers that never throw on HTTP status. */
  get(p: string, headers?: Record<string, string>): Promise<Response>;
  post(p: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  stop(graceMs?: number): Promise<void>;
}

export interface StartRuntimeOptions {
  env?: Record<string, string>;
  /** Wrap the command, e.g. ['prlimit', '--as=...', '--'] or a bwrap argv ending in '--'. */
  wrapper?: string[];
  /** Wait for /readyz (default) or only for /healthz. */
  waitFor?: 'ready' | 'healthy' | 'nothing';
  timeoutMs?: number;
  /** Path of node_modules/.bin/node by default (the project's Node). */
  node?: string;
}

export const projectRoot = repoRoot;

/**
 * startRuntime's env for the real runtime process over the fake pipeline
 * (test/support/fake-pipeline-hooks.ts, a fixture as the tiny model is): starts in a second,
 * generates a step per 20 ms, and fails on demand by prompt ("crash", "uncaught", "oom", "too
 * long"; fake-pipeline-worker.ts). Tests and the router benchmark use it.
 */
export const fakePipelineEnv = {
  NODE_OPTIONS: `--import=${path.join(repoRoot, 'test/support/fake-pipeline-hooks.ts')}`,
};
export const projectNode = path.join(projectRoot, 'node_modules/.bin/node');

export async function startRuntime(options: StartRuntimeOptions = {}): Promise<RuntimeProcess> {
  const [port = 0] = await freePorts(1);
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'zimage-runtime-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    ZIMAGE_MODEL_DIR: tinyModelDir,
    ZIMAGE_EXECUTION_PROVIDER: 'cpu',
    ZIMAGE_ATTENTION: 'flash',
    ZIMAGE_PRECISION: 'bf16',
    ZIMAGE_MAX_RESOLUTION: '1024x1024',
    ZIMAGE_HOST: '127.0.0.1',
    ZIMAGE_PORT: String(port),
    ZIMAGE_INTRA_OP_THREADS: '1',
    ZIMAGE_LOG_LEVEL: 'info',
    ...options.env,
  };
  const node = options.node ?? projectNode;
  const argv = [...(options.wrapper ?? []), node, path.join(projectRoot, 'src/runtime/main.ts')];
  const [command = node, ...args] = argv;
  const proc = spawnManaged('runtime', command, args, {
    logPath: path.join(logDir, 'runtime.log'),
    env,
    cwd: projectRoot,
  });
  const url = `http://127.0.0.1:${port}`;
  const { get, post } = httpClient(url);
  const wanted = options.waitFor ?? 'ready';
  if (wanted !== 'nothing') {
    const probe = wanted === 'ready' ? '/readyz' : '/healthz';
    await waitFor(
      `runtime ${probe}`,
      async () => (await get(probe).catch(() => undefined))?.status === 200,
      { timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 50, proc },
    );
  }
  return { url, port, proc, get, post, stop: (graceMs) => proc.stop(graceMs) };
}

/** GET and POST (JSON, or a string as it is) on `url`; they never throw on HTTP status. */
export function httpClient(url: string): Pick<RuntimeProcess, 'get' | 'post'> {
  return {
    get: (p, headers = {}) => fetch(url + p, { headers }),
    post: (p, body, headers = {}) =>
      fetch(url + p, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
  };
}
