/**
 * The engine client over a real worker thread serving a fake pipeline (the real one needs model
 * files and ORT: those end-to-end tests live in test/runtime).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EngineError, type GenerateJob } from '../../src/runtime/engine.ts';
import { WorkerEngine, type WorkerEngineOptions } from '../../src/runtime/worker/engine-client.ts';

const workerUrl = new URL('../support/fake-pipeline-worker.ts', import.meta.url);

interface Event {
  event: string;
  [key: string]: unknown;
}

let engine: WorkerEngine | undefined;
let channel: BroadcastChannel | undefined;
afterEach(async () => {
  await engine?.close();
  channel?.close();
  engine = undefined;
});

async function started(overrides: Partial<WorkerEngineOptions> = {}) {
  const events: Event[] = [];
  channel = new BroadcastChannel('fake-pipeline');
  channel.onmessage = (message: { data: unknown }) => events.push(message.data as Event);
  const fatal: string[] = [];
  const recovering: boolean[] = [];
  const env: NodeJS.ProcessEnv = {};
  engine = new WorkerEngine({
    pipeline: {
      modelDir: '/nowhere',
      executionProvider: 'cpu',
      attention: 'efficient',
      offload: 'none',
      precision: 'fp16',
    },
    warmup: { width: 64, height: 64, steps: 2 },
    maxOomRestarts: 1,
    onFatal: (reason) => fatal.push(reason),
    onRecovering: (r) => recovering.push(r),
    workerUrl,
    env,
    ...overrides,
  });
  await engine.start();
  return { engine, events, fatal, recovering, env };
}

const job = (prompt: string, steps = 3): GenerateJob => ({
  prompt,
  width: 256,
  height: 256,
  seed: 7,
  steps,
});

const codeOf = async (promise: Promise<unknown>) => {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EngineError);
  return (err as EngineError).code;
};

describe('worker engine client', () => {
  it('starts: creates the pipeline, runs the warm-up image, sets ORT attention switches', async () => {
    const { engine, events, env } = await started();
    await vi.waitFor(() => expect(events.map((e) => e.event)).toEqual(['init', 'generate']));
    expect(events[1]?.['job']).toMatchObject({ width: 64, height: 64, steps: 2 });
    expect(engine.startup?.sessionsSeconds).toBeGreaterThanOrEqual(0);
    expect(engine.startup?.generationSeconds).toBeGreaterThan(0);
    expect(engine.info()).toMatchObject({ executionProvider: 'cpu', offload: 'none' });
    expect(env).toMatchObject({ ORT_DISABLE_FLASH_ATTENTION: '1' });
  });

  it('generates: the PNG crosses intact, each step is reported', async () => {
    const { engine } = await started();
    const steps: number[] = [];
    const result = await engine.generate(job('一只猫 🐱', 4), {
      onStep: (index) => steps.push(index),
    });
    expect(Buffer.from(result.png).toString()).toBe('PNG:一只猫 🐱');
    expect(result).toMatchObject({ width: 256, height: 256, seed: 7, steps: 4 });
    expect(steps).toEqual([0, 1, 2, 3]);
  });

  it('cancels between steps through the shared flag while the worker thread is blocked', async () => {
    const { engine } = await started();
    const controller = new AbortController();
    let stepsDone = 0;
    // 50 steps of 20 ms, each blocking the worker's event loop; abort after ~100 ms.
    const running = engine.generate(job('long', 50), {
      signal: controller.signal,
      onStep: () => {
        stepsDone += 1;
        if (stepsDone === 5) controller.abort();
      },
    });
    expect(await codeOf(running)).toBe('CANCELLED');
    expect(stepsDone).toBeLessThan(50);
    // The next job runs normally.
    expect((await engine.generate(job('after'))).steps).toBe(3);
  });

  it('carries engine error codes across the thread boundary', async () => {
    const { engine, fatal } = await started();
    expect(await codeOf(engine.generate(job('too long')))).toBe('PROMPT_TOO_LONG');
    expect(fatal).toEqual([]);
  });

  it('recovers from out-of-memory: not ready, recreate, ready; too many in a row is fatal', async () => {
    const { engine, events, fatal, recovering } = await started({ maxOomRestarts: 1 });
    expect(await codeOf(engine.generate(job('oom')))).toBe('OUT_OF_MEMORY');
    expect(recovering).toEqual([true]);
    // The recreate is queued in the worker ahead of this job.
    await engine.generate(job('fine'));
    expect(recovering).toEqual([true, false]);
    await vi.waitFor(() =>
      expect(events.map((e) => e.event).slice(-3)).toEqual(['generate', 'recreate', 'generate']),
    );
    // A success resets the count: one more OOM recovers, a second in a row is fatal.
    expect(await codeOf(engine.generate(job('oom')))).toBe('OUT_OF_MEMORY');
    expect(fatal).toEqual([]);
    expect(await codeOf(engine.generate(job('oom')))).toBe('OUT_OF_MEMORY');
    expect(fatal).toEqual(['2 out-of-memory failures in a row (ZIMAGE_MAX_OOM_RESTARTS=1)']);
    expect(engine.brokenReason()).toMatch(/out-of-memory/);
    expect(await codeOf(engine.generate(job('fine')))).toBe('INTERNAL');
  });

  it('a CUDA error that breaks the context is fatal at once: no recreate, onFatal, broken', async () => {
    const { engine, fatal, recovering } = await started({ maxOomRestarts: 3 });
    expect(await codeOf(engine.generate(job('cuda broken')))).toBe('GPU_FAILED');
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatch(/CUBLAS failure 13/);
    // An OOM would have reported recovering (synchronously, before the recreate is sent).
    expect(recovering).toEqual([]);
    expect(await codeOf(engine.generate(job('fine')))).toBe('INTERNAL');
  });

  it.each([
    ['exits', 'crash', /exited with code 3/],
    ['throws an uncaught error', 'uncaught', /uncaught in the worker/],
  ])(
    'worker %s: pending jobs fail INTERNAL, the engine is broken, onFatal fires',
    async (_name, prompt, reason) => {
      const { engine, fatal } = await started();
      const err = await engine.generate(job(prompt)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EngineError);
      expect((err as EngineError).code).toBe('INTERNAL');
      expect((err as EngineError).message).toMatch(reason);
      expect(fatal).toHaveLength(1);
      expect(fatal[0]).toMatch(reason);
      expect(await codeOf(engine.generate(job('fine')))).toBe('INTERNAL');
    },
  );

  it('switches offload and reports it in info()', async () => {
    const { engine } = await started();
    await engine.setOffload('model');
    expect(engine.info()).toMatchObject({ offload: 'model', resident: [] });
  });

  it('close releases the sessions and stops the thread', async () => {
    const { engine, events } = await started();
    await engine.close();
    await vi.waitFor(() => expect(events.map((e) => e.event)).toContain('release'));
    expect(await codeOf(engine.generate(job('late')))).toBe('INTERNAL');
  });
});
