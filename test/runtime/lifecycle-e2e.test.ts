/**
 * The real runtime process's exit codes and its fatal-engine path, as docs/runtime.md states
 * them: 2 for a bad config (the variable named), 1 for an engine that cannot start or that
 * fails for good (/readyz 503 "failed" first), 0 after a drained SIGTERM. The faults come from
 * the fake pipeline (test/support/fake-pipeline-hooks.ts) inside the otherwise real process:
 * real main.ts, server, engine client and worker thread.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { runtimePaths } from '../../src/contract/runtime.ts';
import { parseTextFormat } from '../../src/formats/prometheus-text.ts';
import { startRuntime, type RuntimeProcess } from '../../dev/runtime-process.ts';
import { rawConnection, type RawConnection } from '../support/runtime-app.ts';
import {
  fakePipelineEnv,
  generate,
  untilReadyz,
  type ErrorBody,
  type ReadyBody,
} from '../support/runtime-e2e.ts';

let rt: RuntimeProcess | undefined;
afterEach(async () => {
  await rt?.stop();
  rt = undefined;
});

/** The exit code, or a failure with the log tail if the process outlives `ms`. */
async function exitCode(runtime: RuntimeProcess, ms = 30_000): Promise<number | null> {
  const code = await Promise.race([runtime.proc.exited, sleep(ms).then(() => 'running' as const)]);
  if (code === 'running') throw new Error(`still running after ${ms} ms:\n${runtime.proc.tail()}`);
  return code;
}

/**
 * A GET whose headers are on the wire but not finished: the server counts it as in progress,
 * so when the engine fails and the server closes, it still answers this one, and the test can
 * read what the failed process says. `finish()` sends the last line and reads the answer.
 */
async function heldGet(runtime: RuntimeProcess, path: string) {
  const connection: RawConnection = await rawConnection(runtime.port);
  connection.write(`GET ${path} HTTP/1.1\r\nHost: zimage\r\nConnection: close\r\n`);
  return {
    async finish() {
      connection.write('\r\n');
      return connection.answer;
    },
  };
}

describe('exit codes', () => {
  it('2 for a bad config, naming each bad variable, before listening', async () => {
    rt = await startRuntime({
      env: { ZIMAGE_MAX_QUEUE: 'four', ZIMAGE_ATTENTION: 'sdpa' },
      waitFor: 'nothing',
    });
    expect(await exitCode(rt)).toBe(2);
    const log = rt.proc.tail();
    expect(log).toMatch(/invalid runtime configuration/);
    expect(log).toMatch(/ZIMAGE_MAX_QUEUE: /);
    expect(log).toMatch(/ZIMAGE_ATTENTION: /);
    expect(log).not.toMatch(/listening/);
  });

  it('1 when the engine cannot start (no model directory)', async () => {
    rt = await startRuntime({ env: { ZIMAGE_MODEL_DIR: '/nonexistent' }, waitFor: 'nothing' });
    expect(await exitCode(rt)).toBe(1);
    const log = rt.proc.tail();
    expect(log).toMatch(/engine start failed/);
    expect(log).toMatch(/cannot read the model manifest \/nonexistent\/zimage.json/);
  });

  it('0 after SIGTERM with nothing to finish', async () => {
    rt = await startRuntime({ env: fakePipelineEnv });
    process.kill(rt.proc.pid, 'SIGTERM');
    expect(await exitCode(rt)).toBe(0);
    expect(rt.proc.tail(5)).toMatch(/shut down cleanly/);
  });
});

describe('a fatal engine failure: 503 failed on /readyz, then exit 1', () => {
  // [name, env, prompt, the failing request's answer, why it failed]
  const rows: [string, Record<string, string>, string, [number, string], RegExp][] = [
    [
      'the worker thread dies mid-generation',
      {},
      'crash',
      [500, 'internal_error'],
      /pipeline worker exited with code 3/,
    ],
    [
      'an out-of-memory failure with no restarts left (ZIMAGE_MAX_OOM_RESTARTS=0)',
      { ZIMAGE_MAX_OOM_RESTARTS: '0' },
      'oom',
      [503, 'out_of_memory'],
      /1 out-of-memory failures in a row \(ZIMAGE_MAX_OOM_RESTARTS=0\)/,
    ],
  ];

  it.each(rows)('%s', async (_name, env, prompt, [status, code], why) => {
    rt = await startRuntime({ env: { ...fakePipelineEnv, ...env } });
    const readyz = await heldGet(rt, runtimePaths.readyz);
    const metrics = await heldGet(rt, runtimePaths.metrics);

    const failed = await generate<ErrorBody>(rt, { prompt, size: '64x64', steps: 4 });
    expect(failed.status).toBe(status);
    expect(failed.body.error.code).toBe(code);

    const ready = await readyz.finish();
    expect(ready.status).toBe(503);
    const body = JSON.parse(ready.body) as ReadyBody & { reason?: string };
    expect(body.status).toBe('failed');
    expect(body.reason).toMatch(why);
    const scraped = parseTextFormat((await metrics.finish()).body);
    expect(scraped.get('zimage_ready')?.[0]?.value).toBe(0);
    const requests = scraped.get('zimage_requests_total') ?? [];
    expect(requests.find((s) => s.labels['code'] === String(status))?.value).toBe(1);

    expect(await exitCode(rt)).toBe(1);
    expect(rt.proc.tail(50)).toMatch(/engine failed; exiting so that Kubernetes restarts the pod/);
  });

  it('a request queued behind the fatal one is answered 500, not left hanging', async () => {
    rt = await startRuntime({ env: { ...fakePipelineEnv, ZIMAGE_MAX_OOM_RESTARTS: '0' } });
    // 4 images of 50 steps of 20 ms (4 s): the next two are queued behind it in time.
    const first = generate<ErrorBody>(rt, { prompt: 'a fox', size: '64x64', steps: 50, n: 4 });
    await untilReadyz(rt, 'a running request', (a) => a.body.queue.running === 1);
    const queued = generate<ErrorBody>(rt, { prompt: 'oom', size: '64x64' });
    await untilReadyz(rt, 'a queued request', (a) => a.body.queue.queued === 1);
    const behind = generate<ErrorBody>(rt, { prompt: 'a fox', size: '64x64' });
    expect((await first).status).toBe(200);
    expect((await queued).body.error.code).toBe('out_of_memory');
    const answer = await behind;
    expect(answer.status).toBe(500);
    expect(answer.body.error.code).toBe('internal_error');
    expect(await exitCode(rt)).toBe(1);
  });
});
