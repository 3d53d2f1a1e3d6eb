/**
 * The router's pod token mid-rotation: a pod that still holds the old token answers 401 to the
 * new one, and the router tries the token it sent before (while its grace lasts); a 401 after
 * that is the router's misconfiguration, answered as 502, never as the client's 401.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/router/backend.ts';
import type { ImageSpec } from '../../src/router/dispatch/fanout.ts';

let server: http.Server;
let url: string;
const seen: (string | undefined)[] = [];

beforeAll(async () => {
  // A pod that holds only "pod-a", answering as the runtime does (timing headers included).
  server = http.createServer((req, res) => {
    seen.push(req.headers.authorization);
    req.resume();
    if (req.headers.authorization !== 'Bearer pod-a') {
      res.writeHead(401, { 'content-type': 'application/json' });
      return res.end('{"error":{"message":"invalid bearer token"}}');
    }
    res.writeHead(200, {
      'content-type': 'application/json',
      'x-zimage-image-ms': '10',
      'x-zimage-denoise-ms': '8',
      'x-zimage-steps': '1',
    });
    res.end('{"data":[]}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const image: ImageSpec = { prompt: 'x', width: 64, height: 64, steps: 1, seed: 1 };
const pod = () => ({ name: 'pod-1', url, accepting: true });

async function sendWith(tokens: { current: string; previous?: string } | undefined) {
  seen.length = 0;
  const backend = createBackend({
    timeoutMs: 5_000,
    ...(tokens ? { tokens: { send: () => tokens } } : {}),
  });
  try {
    return await backend.send(pod(), image, AbortSignal.timeout(5_000));
  } finally {
    await backend.close();
  }
}

describe('router backend and the pod token', () => {
  it('retries a 401 once with the token it sent before the change', async () => {
    const outcome = await sendWith({ current: 'pod-b', previous: 'pod-a' });
    expect(outcome.kind).toBe('ok');
    expect(seen).toEqual(['Bearer pod-b', 'Bearer pod-a']);
  });

  it('answers 502 (not the client a 401) when the pod refuses the only token it has', async () => {
    const outcome = await sendWith({ current: 'pod-b' });
    expect(seen).toEqual(['Bearer pod-b']);
    expect(outcome).toMatchObject({ kind: 'fail', status: 502 });
    const body = JSON.parse((outcome as { body: Buffer }).body.toString()) as {
      error: { code: string; message: string };
    };
    expect(body.error.code).toBe('pod_token_refused');
    expect(body.error.message).toMatch(/pod-1 refused the router: the router's pod token/);
  });

  it('says so when it sends no token at all', async () => {
    const outcome = await sendWith(undefined);
    expect(seen).toEqual([undefined]);
    expect((outcome as { body: Buffer }).body.toString()).toMatch(/has no pod token/);
  });
});
