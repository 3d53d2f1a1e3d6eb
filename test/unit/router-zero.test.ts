/**
 * The router at zero runtime pods (scale from zero), through its factory: discovery against a
 * fake API server on loopback (a pod list that starts empty and a watch the test writes to),
 * the pods' HTTP client faked. The router stays Ready with no pod, buffers what can finish once
 * a pod has started, refuses at once with the pod start as Retry-After what cannot (deadline or
 * queue bound), and serves the buffered request when the watch reports a Ready pod.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadRouterConfig } from '../../src/router/config.ts';
import type { SendOutcome } from '../../src/router/dispatch/types.ts';
import { createRouter, type Router } from '../../src/router/router.ts';
import { listenAsApiServer } from '../support/loopback-api.ts';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

const readyPod: V1Pod = {
  metadata: { name: 'rt-0', namespace: 'ns', resourceVersion: '2' },
  spec: {
    containers: [{ name: 'runtime', ports: [{ name: 'http', containerPort: 8080 }] }],
  },
  status: {
    phase: 'Running',
    podIP: '127.1.0.9',
    conditions: [{ type: 'Ready', status: 'True' }],
  },
};

/** A router over an empty pod list; `env` over the defaults (103 s pod start, 120 s deadline). */
async function setup(env: Record<string, string> = {}) {
  const watches: ServerResponse[] = [];
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.url?.includes('watch=true')) return void (res.flushHeaders(), watches.push(res));
    res.end(JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: '1' }, items: [] }));
  });
  const kubeConfig = await listenAsApiServer(server);
  const sent: { pod: string; answer(outcome: SendOutcome): void }[] = [];
  const config = loadRouterConfig({
    ZIMAGE_ROUTER_POD_SELECTOR: 'app.kubernetes.io/instance=zero',
    ZIMAGE_NAMESPACE: 'ns',
    ZIMAGE_HOST: '127.0.0.1',
    ZIMAGE_PORT: '0',
    ZIMAGE_LOG_LEVEL: 'silent',
    ...env,
  });
  const router: Router = await createRouter(config, {
    kubeConfig,
    log: pino({ level: 'silent' }),
    drainDelaySeconds: 0,
    send: (pod) => new Promise((answer) => sent.push({ pod: pod.name, answer })),
  });
  await router.start();
  cleanup = async () => {
    for (const s of sent) s.answer({ kind: 'retry', reason: 'connection', detail: 'test over' });
    await router.stop();
    for (const res of watches) res.end();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  const post = (body: Record<string, unknown>) =>
    router.app.inject({ method: 'POST', url: '/v1/images/generations', payload: body });
  const readyz = async () =>
    (await router.app.inject({ method: 'GET', url: '/readyz' })).statusCode;
  /** A watch event, as the API server sends it. */
  const watchEvent = (type: string, object: V1Pod) =>
    watches.at(-1)!.write(`${JSON.stringify({ type, object })}\n`);
  return { router, sent, post, readyz, watchEvent, watching: () => watches.length > 0 };
}

/** The image API's error body. */
const errorOf = (res: { json(): unknown }) =>
  (res.json() as { error: { code: string; message: string } }).error;

// 1024x1024 images: 10 s each at the router's prior (1 s a step x 9 + 1 s), before any answer.
const image = { prompt: 'a fox', size: '1024x1024' };

describe('the router at zero runtime pods', () => {
  it('stays Ready, buffers what a starting pod can finish, refuses the rest with the start time, then serves', async () => {
    const t = await setup({ ZIMAGE_ROUTER_MAX_QUEUE: '2' });
    await vi.waitFor(() => expect(t.watching()).toBe(true));
    // Kubernetes must keep the routers in the Service while no pod runs: they hold the requests.
    expect(await t.readyz()).toBe(200);

    // 103 s to start + 10 s = 113 s, inside 120 s: buffered.
    const first = t.post({ ...image, seed: 1 });
    await vi.waitFor(() => expect(t.router.dispatcher.load().queuedImages).toBe(1));
    expect(t.sent).toEqual([]);

    // 103 + 10 queued + 10 = 123 s, past 120 s: refused at once, come back once a pod runs.
    const late = await t.post({ ...image, seed: 2 });
    expect([late.statusCode, late.headers['retry-after']]).toEqual([429, '103']);
    expect(errorOf(late).code).toBe('would_miss_deadline');
    expect(errorOf(late).message).toContain('no pod ready: one takes about 103.0 s to start');

    // The queue bound still holds: 1 waiting + 2 > 2.
    const full = await t.post({ ...image, n: 2, seed: 3 });
    expect([full.statusCode, full.headers['retry-after']]).toEqual([429, '103']);
    expect(errorOf(full).code).toBe('queue_full');
    expect(await t.readyz()).toBe(200);

    // A pod turns Ready: the buffered image goes to it, and its answer to the client.
    t.watchEvent('ADDED', readyPod);
    await vi.waitFor(() => expect(t.sent.map((s) => s.pod)).toEqual(['rt-0']));
    const body = Buffer.from(JSON.stringify({ data: [{ b64_json: 'png', seed: 1 }] }));
    t.sent.shift()!.answer({
      kind: 'ok',
      body,
      totalMs: 1_300,
      denoiseMs: 1_100,
      steps: 9,
      backlogMs: 0,
    });
    const served = await first;
    expect(served.statusCode).toBe(200);
    expect(served.json()).toEqual({ data: [{ b64_json: 'png', seed: 1 }] });
  });

  it('refuses at once, with Retry-After the pod start, what cannot finish within a 30 s deadline', async () => {
    const t = await setup({ ZIMAGE_REQUEST_TIMEOUT_SECONDS: '30' });
    const started = performance.now();
    const refused = await t.post(image);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect([refused.statusCode, refused.headers['retry-after']]).toEqual([429, '103']);
    expect(errorOf(refused).message).toMatch(
      /^1 image\(s\) would finish in about 113\.0 s, past the 30\.0 s deadline/,
    );
    expect(t.router.dispatcher.load().queuedImages).toBe(0);
  });

  it('takes the pod start the operator renders (ZIMAGE_ROUTER_POD_START_SECONDS)', async () => {
    const t = await setup({ ZIMAGE_ROUTER_POD_START_SECONDS: '110' });
    const refused = await t.post({ ...image, n: 2 });
    expect([refused.statusCode, refused.headers['retry-after']]).toEqual([429, '110']);
  });
});
