import { describe, expect, it } from 'vitest';
import { EngineError, type GenerateJob } from '../../src/runtime/engine.ts';
import { GenerationQueue, QueueRejection, type QueueSnapshot } from '../../src/runtime/queue.ts';
import type { Work } from '../../src/contract/wait-estimate.ts';
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
  const submit = (steps: number, prompt?: string, signal?: AbortSignal, work?: Work) => {
    const outcome = { settledAt: -1, value: undefined as unknown, error: undefined as unknown };
    const done = queue
      .submit({
        run: (s) => engine.generate(job(steps, prompt), { signal: s }),
        ...(signal ? { signal } : {}),
        ...(work ? { work } : {}),
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

  it('refuses when full, with Retry-After from the work left: the running remainder and each queued one', async () => {
    const { clock, submit } = setup({ maxQueue: 2 });
    // No image observed yet: the prior, 1 s per step + 1 s at 1024x1024.
    const big = { images: 1, width: 1024, height: 1024, steps: 9 };
    const quarter = { images: 1, width: 512, height: 512, steps: 9 };
    submit(20, 'running', undefined, big);
    await clock.advance(4_000);
    submit(1, 'queued 1', undefined, quarter);
    submit(1, 'queued 2', undefined, big);
    const refused = submit(1, 'refused', undefined, big);
    await clock.advance(0);
    // (10 - 4) + 2.5 + 10 = 18.5 s.
    expect(rejection(refused.outcome.error)).toEqual({
      reason: 'full',
      stage: 'admission',
      retryAfterSeconds: 19,
    });
  });

  it('Retry-After reads the rates the caller fed the estimator', async () => {
    const { clock, queue, submit } = setup({ maxQueue: 1 });
    // 100 ms per step + 200 ms rest at 1024^2: a default task (9 steps) is 1.1 s.
    queue.estimator.observe({ width: 1024, height: 1024, steps: 9, denoiseMs: 900, totalMs: 1100 });
    submit(5);
    submit(5);
    await clock.advance(0);
    await expect(queue.submit({ run: () => Promise.resolve() })).rejects.toMatchObject({
      reason: 'full',
      retryAfterSeconds: 3,
    });
  });

  it('a task without work counts as one 9-step 1024x1024 image (10 s before any history)', async () => {
    const { clock, queue, submit } = setup({ maxQueue: 1 });
    submit(5);
    submit(5);
    await clock.advance(0);
    await expect(queue.submit({ run: () => Promise.resolve() })).rejects.toMatchObject({
      reason: 'full',
      retryAfterSeconds: 20,
    });
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
    await clock.advance(4_000);
    // t=14 s. It stopped at the step boundary at 10 s (uncancelled it would be at step 14 now,
    // and 20 in the end), and the next job ran right after: 10 s + 2 steps.
    expect(engine.stepsRun).toEqual([10, 2]);
    expect(next.outcome.value).toMatchObject({ steps: 2 });
    expect(next.outcome.settledAt).toBe(12_000);
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
    // [name, the job whose client goes away, when the one that stays finishes]
    // Queued: the first runs its 5 steps undisturbed (t=5 s); the second never runs.
    ['while queued', 'second', 5_000],
    // Running: the first stops at its next step boundary (t=2 s) and the second runs its 5
    // steps right after (t=7 s), not after the first's whole 5 s (t=10 s).
    ['while running', 'first', 7_000],
  ] as const)('a client that goes away %s frees its place', async (_name, leaver, finishedAt) => {
    const { clock, engine, submit } = setup();
    const clients = { first: new AbortController(), second: new AbortController() };
    const jobs = {
      first: submit(5, 'first', clients.first.signal),
      second: submit(5, 'second', clients.second.signal),
    };
    const stayer = leaver === 'first' ? 'second' : 'first';
    await clock.advance(1_000);
    clients[leaver].abort();
    await clock.advance(0);
    const gone = jobs[leaver].outcome;
    expect(rejection(gone.error)).toMatchObject({
      reason: 'aborted',
      stage: leaver === 'first' ? 'running' : 'queued',
    });
    // Answered at once, not when the engine got round to it.
    expect(gone.settledAt).toBe(1_000);
    await clock.advance(10_000);
    const stayed = jobs[stayer].outcome;
    expect(stayed.value).toMatchObject({ steps: 5 });
    expect(stayed.settledAt).toBe(finishedAt);
    expect(engine.jobs.map((j) => j.prompt)).toEqual(
      leaver === 'first' ? ['first', 'second'] : ['first'],
    );
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

describe('generation queue: work that would miss its deadline, and the backlog a router reads', () => {
  // Learned rates: 1 s per step, no rest, at 1024x1024 (one 9-step image = 9 s).
  const learn = (queue: GenerationQueue) =>
    queue.estimator.observe({
      width: 1024,
      height: 1024,
      steps: 9,
      denoiseMs: 9_000,
      totalMs: 9_000,
    });
  const images = (n: number): Work => ({ images: n, width: 1024, height: 1024, steps: 9 });

  it.each<[string, { learned: boolean; deadlineMs: number; n: number }, string | undefined]>([
    [
      'prior rates never refuse (a fast pod must not lose its first requests)',
      { learned: false, deadlineMs: 20_000, n: 8 },
      undefined,
    ],
    [
      'learned: 8 x 9 s = 72 s within 120 s',
      { learned: true, deadlineMs: 120_000, n: 8 },
      undefined,
    ],
    [
      'learned: 8 x 9 s = 72 s past 60 s: refused at once',
      { learned: true, deadlineMs: 60_000, n: 8 },
      'late',
    ],
  ])('%s', async (_name, { learned, deadlineMs, n }, want) => {
    const { clock, queue, submit } = setup({ deadlineMs });
    if (learned) learn(queue);
    const r = submit(1, 'x', undefined, images(n));
    await clock.advance(1_000);
    await r.done;
    expect(r.outcome.error === undefined ? undefined : rejection(r.outcome.error).reason).toBe(
      want,
    );
  });

  it('counts the work queued behind the running job, and only what is left of that one', async () => {
    const { clock, queue, submit } = setup({ maxQueue: 4, deadlineMs: 120_000 });
    learn(queue);
    const a = submit(4, 'a', undefined, images(1));
    submit(4, 'b', undefined, images(2));
    await clock.advance(0);
    expect(queue.backlogMs()).toBe(9_000 + 18_000);
    await clock.advance(3_000);
    expect(queue.backlogMs()).toBe(6_000 + 18_000);
    // a's work returns at 4 s, past its 9 s estimate's share: it reports only b's.
    await clock.advance(1_000);
    await a.done;
    expect(queue.backlogMs()).toBe(18_000);
  });
});
