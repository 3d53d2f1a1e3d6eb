/**
 * The router's queue over fake pods and a fake clock: every image is a deferred answer the test
 * resolves, so the order of dispatches, retries, deadlines and cancellations is explicit.
 */
import { describe, expect, it } from 'vitest';
import { Dispatcher } from '../../src/router/dispatch/dispatcher.ts';
import type { PodTarget, RequestFailure, SendOutcome } from '../../src/router/dispatch/types.ts';
import type { ImageSpec } from '../../src/router/dispatch/fanout.ts';
import { FakeClock, settle } from '../support/fake-clock.ts';

interface Call {
  pod: string;
  spec: ImageSpec;
  signal: AbortSignal;
  answer(outcome: SendOutcome): void;
}

function setup(options: { slots?: number; pods?: string[]; maxQueuedImages?: number } = {}) {
  const clock = new FakeClock(1_000);
  const calls: Call[] = [];
  const dispatched: string[] = [];
  const retries: string[] = [];
  const dispatcher = new Dispatcher({
    clock,
    slots: options.slots ?? 1,
    defaultSteps: 9,
    limits: { maxQueuedImages: options.maxQueuedImages ?? 32, deadlineMs: 120_000 },
    send: (pod, spec, signal) =>
      new Promise<SendOutcome>((resolve) =>
        calls.push({ pod: pod.name, spec, signal, answer: resolve }),
      ),
    hooks: { onDispatch: (p) => dispatched.push(p), onRetry: (r) => retries.push(r) },
  });
  const targets = (names: string[]): PodTarget[] =>
    names.map((name) => ({ name, url: `http://${name}`, accepting: true }));
  dispatcher.setPods(targets(options.pods ?? ['a', 'b', 'c']));
  const ok = (seed: number, ms = 1200): SendOutcome => ({
    kind: 'ok',
    body: Buffer.from(JSON.stringify({ data: [{ b64_json: `img${seed}`, seed }] })),
    totalMs: ms,
    denoiseMs: ms * 0.8,
    steps: 9,
    backlogMs: 0,
  });
  /** Answer the oldest open call (or the one on `pod`) with `outcome`. */
  const answer = async (outcome: (c: Call) => SendOutcome, pod?: string) => {
    const i = calls.findIndex((c) => pod === undefined || c.pod === pod);
    if (i < 0) throw new Error(`no open call${pod ? ` on ${pod}` : ''}`);
    const [call] = calls.splice(i, 1);
    call!.answer(outcome(call!));
    await settle();
  };
  return { clock, calls, dispatched, retries, dispatcher, targets, ok, answer };
}

const request = (n: number, seed = 10) => ({
  prompt: 'p',
  width: 1024,
  height: 1024,
  n,
  seed,
  steps: undefined,
});

describe('Dispatcher', () => {
  it('fans 8 images over 3 idle pods, one each at a time, and answers them in order', async () => {
    const t = setup();
    const result = t.dispatcher.submit(request(8));
    await settle();
    expect(t.dispatched).toEqual(['a', 'b', 'c']);
    expect(t.dispatcher.load()).toMatchObject({ queuedImages: 5, freeSlots: 0 });
    // Pod b finishes first: the next image (index 3) goes there, not behind a or c.
    await t.answer((c) => t.ok(c.spec.seed), 'b');
    expect(t.dispatched.at(-1)).toBe('b');
    while (t.calls.length > 0) await t.answer((c) => t.ok(c.spec.seed));
    const images = await result;
    expect(images.map((i) => i.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const seedOf = (body: Buffer) =>
      (JSON.parse(body.toString()) as { data: { seed: number }[] }).data[0]!.seed;
    expect(images.map((i) => seedOf(i.body))).toEqual([10, 11, 12, 13, 14, 15, 16, 17]);
    expect(new Set(images.map((i) => i.pod))).toEqual(new Set(['a', 'b', 'c']));
  });

  it('holds the third request in the router while two pods are busy (pull-style), then gives it to the first pod free', async () => {
    const t = setup({ pods: ['a', 'b'] });
    const r1 = t.dispatcher.submit(request(1, 1));
    const r2 = t.dispatcher.submit(request(1, 2));
    const r3 = t.dispatcher.submit(request(1, 3));
    await settle();
    expect(t.calls.map((c) => [c.pod, c.spec.seed])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    await t.clock.advance(700);
    await t.answer((c) => t.ok(c.spec.seed, 700), 'b');
    expect(t.calls.map((c) => [c.pod, c.spec.seed])).toEqual([
      ['a', 1],
      ['b', 3],
    ]);
    await t.answer((c) => t.ok(c.spec.seed));
    await t.answer((c) => t.ok(c.spec.seed));
    const waits = (await Promise.all([r1, r2, r3])).map((r) => r[0]!.waitMs);
    expect(waits).toEqual([700, 700, 700]);
  });

  it('gives an image a pod refused or dropped to another pod, once', async () => {
    const t = setup({ pods: ['a', 'b'] });
    const result = t.dispatcher.submit(request(1, 5));
    await settle();
    await t.answer(() => ({ kind: 'retry', reason: 'connection', detail: 'ECONNRESET' }), 'a');
    expect(t.calls.map((c) => c.pod)).toEqual(['b']);
    await t.answer((c) => t.ok(c.spec.seed), 'b');
    expect((await result)[0]!.pod).toBe('b');
    expect(t.retries).toEqual(['connection']);
  });

  it('fails the request with 503 when the retry fails too, and stops its other images', async () => {
    const t = setup({ pods: ['a', 'b', 'c'] });
    const caught = t.dispatcher.submit(request(2, 5)).catch((e: unknown) => e);
    await settle();
    await t.answer(() => ({ kind: 'retry', reason: 'draining', detail: '503' }), 'a');
    await t.answer(() => ({ kind: 'retry', reason: 'refused', detail: 'ECONNREFUSED' }), 'c');
    expect(await caught).toMatchObject({ status: 503, code: 'pods_unavailable' });
    expect(t.calls.every((c) => c.signal.aborted)).toBe(true);
  });

  it("passes a pod's own refusal (422: does not fit) back as it came", async () => {
    const t = setup({ pods: ['a'] });
    const caught = t.dispatcher.submit(request(1)).catch((e: unknown) => e);
    await settle();
    const body = Buffer.from('{"error":{"code":"does_not_fit"}}');
    await t.answer(() => ({ kind: 'fail', status: 422, body, contentType: 'application/json' }));
    const err = (await caught) as RequestFailure;
    expect([err.status, err.body?.toString()]).toEqual([422, body.toString()]);
  });

  it('answers 504 at the deadline: queued images leave, running ones are aborted', async () => {
    const t = setup({ pods: ['a'] });
    const result = t.dispatcher.submit(request(3));
    const caught = result.catch((e: unknown) => e);
    await t.clock.advance(120_000);
    expect(await caught).toMatchObject({ status: 504, code: 'deadline_exceeded' });
    expect(t.calls[0]!.signal.aborted).toBe(true);
    expect(t.dispatcher.load().queuedImages).toBe(0);
    // The aborted image's answer frees the slot; nothing of the request is sent again.
    await t.answer(() => ({ kind: 'retry', reason: 'connection', detail: 'aborted' }));
    expect(t.calls).toHaveLength(0);
  });

  it('stops a request whose client went away', async () => {
    const t = setup({ pods: ['a'] });
    const client = new AbortController();
    const caught = t.dispatcher.submit(request(2), client.signal).catch((e: unknown) => e);
    await settle();
    client.abort();
    expect(await caught).toMatchObject({ status: 499 });
    expect(t.calls[0]!.signal.aborted).toBe(true);
  });

  it('sends nothing new to a pod that turned not-Ready or left, and still takes its answers', async () => {
    const t = setup({ pods: ['a', 'b'] });
    const r1 = t.dispatcher.submit(request(1, 1));
    await settle();
    expect(t.calls[0]!.pod).toBe('a');
    t.dispatcher.setPods(t.targets(['b']));
    const r2 = t.dispatcher.submit(request(2, 2));
    await settle();
    expect(t.calls.map((c) => c.pod)).toEqual(['a', 'b']);
    await t.answer((c) => t.ok(c.spec.seed), 'a');
    expect((await r1)[0]!.pod).toBe('a');
    expect(t.calls.map((c) => c.pod)).toEqual(['b']);
    await t.answer((c) => t.ok(c.spec.seed), 'b');
    await t.answer((c) => t.ok(c.spec.seed), 'b');
    expect((await r2).map((i) => i.pod)).toEqual(['b', 'b']);
  });

  it('buffers while no pod is Ready, and dispatches when one turns Ready', async () => {
    const t = setup({ pods: [] });
    const result = t.dispatcher.submit(request(1));
    await settle();
    expect(t.calls).toHaveLength(0);
    t.dispatcher.setPods(t.targets(['a']));
    await settle();
    await t.answer((c) => t.ok(c.spec.seed));
    expect(await result).toHaveLength(1);
  });

  it('refuses with 429 and Retry-After when the router queue is full', async () => {
    const t = setup({ pods: ['a'], maxQueuedImages: 2 });
    void t.dispatcher.submit(request(3)).catch(() => undefined);
    await settle();
    const err = (await t.dispatcher.submit(request(1)).catch((e: unknown) => e)) as RequestFailure;
    expect([err.status, err.code, err.retryAfterSeconds! >= 1]).toEqual([429, 'queue_full', true]);
  });

  it('drains: refuses new requests with 503 and resolves once admitted ones are answered', async () => {
    const t = setup({ pods: ['a'] });
    const result = t.dispatcher.submit(request(1));
    await settle();
    let drained = false;
    void t.dispatcher.drain().then(() => (drained = true));
    await expect(t.dispatcher.submit(request(1))).rejects.toMatchObject({ status: 503 });
    await settle();
    expect(drained).toBe(false);
    await t.answer((c) => t.ok(c.spec.seed));
    await result;
    await settle();
    expect(drained).toBe(true);
  });
});
