import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../dev/paths.ts';

/** The real operator entry point as a process: what a user sees for a bad flag. */
function runOperator(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'src/operator/main.ts'), ...args], {
    // No cluster: a bad configuration must stop the process before it reads any kubeconfig.
    env: { PATH: process.env['PATH'] ?? '', KUBECONFIG: '/nonexistent/kubeconfig', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`operator did not exit within 20 s:\n${stdout}${stderr}`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('operator process with a bad configuration', () => {
  it.each([
    {
      name: 'a bad flag value',
      args: ['--log-level=loud'],
      env: {},
      line: 'invalid operator configuration: --log-level (env ZIMAGE_LOG_LEVEL) got "loud": expected one of trace, debug, info, warn, error, fatal',
    },
    {
      name: 'an unknown flag',
      args: ['--leader-elekt=false'],
      env: {},
      line: 'invalid operator configuration: unknown flag --leader-elekt; the flags are --kubeconfig, --watch-namespaces, --leader-elect, --leader-election-namespace, --lease-name, --identity, --http-host, --http-port, --log-level, --concurrency, --watchdog-seconds, --relist-seconds, --monitoring-poll-seconds, --request-timeout-seconds, --autoscaler, --dcgm-exporter-selector, --dcgm-exporter-namespaces, --router-image, --prometheus-url-allow, --prometheus-url-allow-loopback, --operator-namespace, --operator-pod-labels, --prometheus-namespace-selector',
    },
    {
      name: 'a bad environment variable',
      args: [],
      env: { ZIMAGE_CONCURRENCY: '0' },
      line: 'invalid operator configuration: ZIMAGE_CONCURRENCY (flag --concurrency) got "0": expected an integer from 1 to 64',
    },
  ])('$name: exit 2, one line naming it, no stack', async ({ args, env, line }) => {
    const { code, stdout, stderr } = await runOperator(args, env);
    expect({ code, stdout, lines: stderr.trimEnd().split('\n') }).toEqual({
      code: 2,
      stdout: '',
      lines: [line],
    });
  });
});
