import { describe, expect, it } from 'vitest';
import { EngineError, type GenerateJob } from '../../src/runtime/engine.ts';
import { GenerationQueue, QueueRejection, type QueueSnapshot } from '../../src/runtime/queue.ts';
import { FakeClock, settle } from '../support/fake-clock.ts';
import { FakeEngine } from '../support/fake-engine.ts';

/** Each step takes 1 s of fake time: a job of `steps` steps takes `steps` seconds. */
function setup(options: { maxQueue?: number; deadlineMs?: number } = {}) {
  const clock = new FakeClock();
  const engine = new FakeEngine({ sleep: (ms) => clock.sleep(ms), stepMs: 1_000 });
  const snapshots: QueueSnapshot[] = [];
  const queue = new GenerationQueue({
    maxQueue: options.maxQueue ?? 2,
    deadlineMs: options.deadlineMs ?? 60_000,
    clock,
    onChange: (s) => snapshots.push(s),
  });
  const job = (steps: number, prompt = `job of ${steps} steps`): GenerateJob => ({
    prompt,
    width: 64,
    height: 64,
    seed: 1,
    steps,
  });
  /** Submit a generation; the returned promise never rejects (outcome is a value). */
  const submit = (steps: number, prompt?: string, signal?: AbortSignal) => {
    const outcome = { settledAt: -1, value: undefined as unknown, error: undefined as unknown };
    const done = queue
      .submit({
        run: (s) => engine.generate(job(steps, prompt), { signal: s }),
        ...(signal ? { signal } : {}),
      })
      .then(
        (value) => Object.assign(outcome, { value, settledAt: clock.now() }),
        (error: unknown) => Object.assign(outcome, { error, settledAt: clock.now() }),
      );
    return { outcome, done };
  };
  return { clock, engine, queue, snapshots, submit };
}

const rejection = (err: unknown) => {
  expect(err).toBeInstanceOf(QueueRejection);
  const r = err as QueueRejection;
  return { reason: r.reason, stage: r.stage, retryAfterSeconds: r.retryAfterSeconds };
};

describe('generation queue', () => {
  it('runs one job at a time, in arrival order', async () => {
    const { clock, engine, submit, snapshots } = setup();
    const a = submit(3, 'a');
    const b = submit(2, 'b');
    await clock.advance(0);
    expect(engine.jobs.map((j) => j.prompt)).toEqual(['a']);
    expect(snapshots.at(-1)).toEqual({ queued: 1, running: 1 });
    await clock.advance(3_000);
    expect(a.outcome.settledAt).toBe(3_000);
    expect(engine.jobs.map((j) => j.prompt)).toEqual(['a', 'b']);
    await clock.advance(2_000);
    expect(b.outcome.settledAt).toBe(5_000);
    expect(b.outcome.error).toBeUndefined();
    expect(snapshots.at(-1)).toEqual({ queued: 0, running: 0 });
  });

  it('refuses when full, with Retry-After = recent time per image x images ahead', async () => {
    const { clock, submit } = setup({ maxQueue: 2 });
    // History: one 4 s image.
    submit(4);
    await clock.advance(4_000);
    // One running and two waiting (3 images ahead at 4 s each): the next is refused.
    submit(4);
    submit(4);
    submit(4);
    const refused = submit(4);
    await clock.advance(0);
    expect(rejection(refused.outcome.error)).toEqual({
      reason: 'full',
      stage: 'admission',
      retryAfterSeconds: 12,
    });
  });

  it('Retry-After without history assumes 10 s per image', async () => {
    const { clock, queue, submit } = setup({ maxQueue: 1 });
    submit(5);
    submit(5);
    await clock.advance(0);
    await expect(queue.submit({ run: () => Promise.resolve() })).rejects.toMatchObject({
      reason: 'full',
      retryAfterSeconds: 20,
    });
  });

  it('Retry-After is at least 1 s', async () => {
    const clock = new FakeClock();
    const queue = new GenerationQueue({ maxQueue: 0, deadlineMs: 60_000, clock });
    const quick = () => queue.submit({ run: () => clock.sleep(200) });
    void quick();
    await clock.advance(200);
    void quick();
    await expect(quick()).rejects.toMatchObject({ reason: 'full', retryAfterSeconds: 1 });
  });

  it('drops a job whose deadline passes while queued (504), and keeps the slot of a cancelled one busy until the engine returns', async () => {
    const { clock, queue, submit } = setup({ deadlineMs: 10_000 });
    // A job that ignores cancellation and holds the engine for 15 s.
    const stubborn = queue.submit({ run: () => clock.sleep(15_000) }).catch((e: unknown) => e);
    await clock.advance(1_000);
    const waiting = submit(1);
    await clock.advance(9_000);
    // t=10 s: the running job's deadline: its caller is answered now.
    expect(rejection(await stubborn)).toMatchObject({ reason: 'deadline', stage: 'running' });
    await clock.advance(1_000);
    // t=11 s: the queued job's deadline (it arrived at 1 s).
    expect(rejection(waiting.outcome.error)).toMatchObject({ reason: 'deadline', stage: 'queued' });
    expect(waiting.outcome.settledAt).toBe(11_000);
    // The engine is still busy with the stubborn job: a new one waits until t=15 s.
    const next = submit(2);
    await clock.advance(3_000);
    expect(queue.snapshot()).toEqual({ queued: 1, running: 1 });
    await clock.advance(1_000 + 2_000);
    expect(next.outcome.error).toBeUndefined();
    expect(next.outcome.settledAt).toBe(17_000);
  });

  it('aborts a running job at its deadline; the pipeline stops between steps and the next job runs normally', async () => {
    const { clock, engine, submit } = setup({ deadlineMs: 10_000 });
    const long = submit(20, 'long');
    await clock.advance(5_000);
    const next = submit(2, 'next');
    await clock.advance(5_000);
    expect(rejection(long.outcome.error)).toMatchObject({ reason: 'deadline', stage: 'running' });
    expect(long.outcome.settledAt).toBe(10_000);
    await clock.advance(1_000);
    // It stopped at a step boundary, well before its 20 steps.
    expect(engine.stepsRun[0]).toBeLessThanOrEqual(11);
    await clock.advance(3_000);
    expect(next.outcome.error).toBeUndefined();
    expect(engine.stepsRun[1]).toBe(2);
    expect(next.outcome.settledAt).toBeLessThan(15_000);
  });

  it('drains: refuses new jobs (503), finishes running and queued ones, then resolves', async () => {
    const { clock, queue, submit } = setup();
    const running = submit(3);
    const queued = submit(3);
    await clock.advance(1_000);
    let drained = -1;
    void queue.drain().then(() => (drained = clock.now()));
    const late = submit(1);
    await clock.advance(0);
    expect(rejection(late.outcome.error)).toMatchObject({ reason: 'draining', stage: 'admission' });
    expect(queue.isDraining()).toBe(true);
    await clock.advance(5_000);
    expect(running.outcome.error).toBeUndefined();
    expect(queued.outcome.error).toBeUndefined();
    expect(queued.outcome.settledAt).toBe(6_000);
    expect(drained).toBe(6_000);
  });

  it('drains at once when idle', async () => {
    const { queue } = setup();
    await expect(queue.drain()).resolves.toBeUndefined();
  });

  it.each([
    ['while queued', 0, 'queued'],
    ['while running', 1, 'running'],
  ])('a client that goes away %s frees its place', async (_name, index, stage) => {
    const { clock, engine, submit } = setup();
    const clients = [new AbortController(), new AbortController()];
    const jobs = [submit(5, 'first', clients[0]?.signal), submit(5, 'second', clients[1]?.signal)];
    await clock.advance(1_000);
    clients[index === 0 ? 1 : 0]?.abort();
    await clock.advance(1_000);
    const gone = jobs[index === 0 ? 1 : 0];
    expect(rejection(gone?.outcome.error)).toMatchObject({ reason: 'aborted', stage });
    await clock.advance(10_000);
    const other = jobs[index];
    expect(other?.outcome.error).toBeUndefined();
    if (stage === 'queued') expect(engine.jobs.map((j) => j.prompt)).toEqual(['first']);
  });

  it('passes engine errors through unchanged', async () => {
    const { clock, engine, submit } = setup();
    engine.failWith = () => ({ code: 'PROMPT_TOO_LONG', message: 'prompt is 600 tokens; max 512' });
    const failed = submit(1);
    await clock.advance(0);
    expect(failed.outcome.error).toBeInstanceOf(EngineError);
    expect((failed.outcome.error as EngineError).code).toBe('PROMPT_TOO_LONG');
  });

  it('a run() that throws synchronously rejects like any other', async () => {
    const { queue } = setup();
    await expect(
      queue.submit({
        run: () => {
          throw new Error('boom');
        },
      }),
    ).rejects.toThrow('boom');
    await settle();
    expect(queue.snapshot()).toEqual({ queued: 0, running: 0 });
  });
});
