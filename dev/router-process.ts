/**
 * Starts the real router (`node src/router/main.ts`) as a child process on a free loopback
 * port, in front of the given runtime URLs (ZIMAGE_ROUTER_PODS) unless `env` names a selector.
 * `root`: the checkout whose router runs (default this one; the router benchmark compares
 * another's, with its own node_modules, in the same run).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from './ports.ts';
import { spawnManaged, waitFor } from './process.ts';
import { repoRoot } from './paths.ts';
import { httpClient, type RuntimeProcess } from './runtime-process.ts';

export type RouterProcess = Omit<RuntimeProcess, 'proc'> & { proc: RuntimeProcess['proc'] };

export async function startRouter(
  pods: readonly string[],
  env: Record<string, string> = {},
  root: string = repoRoot,
): Promise<RouterProcess> {
  const [port = 0] = await freePorts(1);
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'zimage-router-'));
  const node = path.join(repoRoot, 'node_modules/.bin/node');
  const proc = spawnManaged('router', node, [path.join(root, 'src/router/main.ts')], {
    logPath: path.join(logDir, 'router.log'),
    cwd: root,
    env: {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      ZIMAGE_HOST: '127.0.0.1',
      ZIMAGE_PORT: String(port),
      ZIMAGE_ROUTER_PODS: pods.join(','),
      ZIMAGE_LOG_LEVEL: 'info',
      ...env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  const { get, post } = httpClient(url);
  await waitFor(
    'router /readyz',
    async () => (await get('/readyz').catch(() => undefined))?.status === 200,
    {
      timeoutMs: 30_000,
      intervalMs: 50,
      proc,
    },
  );
  return { url, port, proc, get, post, stop: (graceMs) => proc.stop(graceMs) };
}
