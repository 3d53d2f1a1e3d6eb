/**
 * What HTTP clients refuse to send, sent raw over loopback to the runtime's app (fake engine):
 * node's own parser errors, a request too slow to arrive, a client that hangs up mid-body.
 * Every answer is the documented envelope with an x-request-id; client events are logged at
 * info (never error, never with a stack) and counted in zimage_client_errors_total.
 */
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runtimePaths } from '../../src/contract/runtime.ts';
import {
  capturingLogger,
  rawRequest,
  testAppPerTest,
  type ErrorBody,
  type TestAppOptions,
} from '../support/runtime-app.ts';

const setup = testAppPerTest();

async function listening(options: TestAppOptions = {}) {
  const { logger, lines } = capturingLogger();
  const t = await setup({ logger, ...options });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = t.app.server.address() as AddressInfo;
  const metric = async (name: string) =>
    Object.fromEntries(
      ((await t.metrics.registry.getSingleMetric(name)?.get())?.values ?? []).map((v) => [
        Object.values(v.labels).join(','),
        v.value,
      ]),
    );
  return { t, port, lines, metric };
}

const head = (headers: string[]) =>
  [`POST ${runtimePaths.generate} HTTP/1.1`, 'Host: zimage', ...headers, '', ''].join('\r\n');
const body = JSON.stringify({ prompt: 'a red fox in snow', size: '64x64' });

describe('client errors before any route', () => {
  // [name, status, code, message, raw request]
  const rows: [string, number, string, RegExp, string][] = [
    [
      'Content-Length not a number',
      400,
      'invalid_content_length',
      /invalid Content-Length header/,
      head(['Content-Type: application/json', 'Content-Length: abc']) + body,
    ],
    [
      'Content-Length twice, differing',
      400,
      'invalid_content_length',
      /invalid Content-Length header: Duplicate Content-Length/,
      head(['Content-Type: application/json', 'Content-Length: 5', 'Content-Length: 6']) + body,
    ],
    [
      'Content-Length together with Transfer-Encoding',
      400,
      'invalid_transfer_encoding',
      /invalid Transfer-Encoding header: Transfer-Encoding can't be present with Content-Length/,
      head([
        'Content-Type: application/json',
        `Content-Length: ${body.length}`,
        'Transfer-Encoding: chunked',
      ]) + body,
    ],
    ['not HTTP at all', 400, 'invalid_http', /malformed HTTP request/, 'HELLO\r\n\r\n'],
    [
      'headers over 16 KiB',
      431,
      'headers_too_large',
      /larger than 16 KiB/,
      head([`X-Padding: ${'x'.repeat(17 * 1024)}`]),
    ],
  ];

  it.each(rows)('%s -> %i %s in the envelope', async (_name, status, code, message, raw) => {
    const { port, lines, metric } = await listening();
    const answer = await rawRequest(port, [raw]);
    expect(answer.status).toBe(status);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const { error } = JSON.parse(answer.body) as ErrorBody;
    expect(error).toMatchObject({ type: 'invalid_request_error', code, param: null });
    expect(error.message).toMatch(message);
    expect(await metric('zimage_client_errors_total')).toEqual({
      [status === 431 ? 'headers_too_large' : 'malformed']: 1,
    });
    // Logged once at info under the same id, without a stack.
    const logged = lines.filter((l) => l['reqId'] === answer.headers['x-request-id']);
    expect(logged).toMatchObject([{ level: 30 }]);
    expect(JSON.stringify(logged)).not.toContain('stack');
  });

  it('a request not received within the timeout -> 408 naming it, at the timeout', async () => {
    // The real server's 30 s is held by test/runtime/slow-client-e2e.test.ts; here 1 s.
    const { port, metric } = await listening({
      serverOptions: {
        requestTimeout: 1_000,
        http: { headersTimeout: 1_000, connectionsCheckingInterval: 100 },
      },
    });
    // Headers, then the body one byte every 200 ms: never idle, never complete in 1 s.
    const bytes = [...body.slice(0, 10)];
    const answer = await rawRequest(
      port,
      [head(['Content-Type: application/json', `Content-Length: ${body.length}`]), ...bytes],
      { gapMs: 200 },
    );
    expect(answer.status).toBe(408);
    expect(answer.headers['x-request-id']).toBeDefined();
    expect((JSON.parse(answer.body) as ErrorBody).error).toMatchObject({
      code: 'request_timeout',
      message: expect.stringMatching(/not received within 1 s/) as string,
    });
    expect(answer.closedAfterMs).toBeGreaterThanOrEqual(1_000);
    expect(answer.closedAfterMs).toBeLessThan(1_500);
    // A generation request cut off by the server: 408 in the API's count too, not 499.
    expect(await metric('zimage_client_errors_total')).toEqual({ timeout: 1 });
    expect(await metric('zimage_requests_total')).toEqual({ '408': 1 });
  });
});

describe('a client that hangs up while sending the body', () => {
  it('is logged at info, counted as aborted and 499, and never reaches the engine', async () => {
    const { t, port, lines, metric } = await listening();
    const answer = await rawRequest(
      port,
      [
        head(['Content-Type: application/json', `Content-Length: ${body.length}`]) +
          body.slice(0, 9),
      ],
      { hangUpAfterMs: 100 },
    );
    expect(answer.status).toBe(0);
    for (let i = 0; i < 100 && !(await metric('zimage_client_errors_total'))['aborted']; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await metric('zimage_client_errors_total')).toEqual({ aborted: 1 });
    expect(await metric('zimage_requests_total')).toEqual({ '499': 1 });
    expect(t.engine.jobs).toEqual([]);
    expect(lines.filter((l) => Number(l['level']) >= 40)).toEqual([]);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 30,
        msg: 'client went away before sending the whole request',
      }),
    );
  });
});

describe("fastify's own errors, in the envelope", () => {
  // [name, method, url, content type and body, status, code]
  const rows: [string, 'GET' | 'POST', string, [string, string] | undefined, number, string][] = [
    ['a URL that does not decode', 'GET', '/%E0%A4%A', undefined, 400, 'bad_url'],
    [
      'invalid JSON to a route outside the API',
      'POST',
      runtimePaths.healthz,
      ['application/json', '{bad'],
      400,
      'invalid_json',
    ],
    ['an unknown route', 'GET', '/v1/models', undefined, 404, 'not_found'],
  ];

  it.each(rows)('%s', async (_name, method, url, sent, status, code) => {
    const t = await setup();
    const res = await t.app.inject({
      method,
      url,
      ...(sent ? { headers: { 'content-type': sent[0] }, payload: sent[1] } : {}),
    });
    expect(res.statusCode).toBe(status);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.json<ErrorBody>().error).toMatchObject({ type: 'invalid_request_error', code });
  });
});

describe('x-request-id', () => {
  it.each([
    ['a generation', 'POST', runtimePaths.generate],
    ['a probe', 'GET', runtimePaths.healthz],
  ])('is on the answer to %s', async (_name, method, url) => {
    const t = await setup();
    const res = await t.app.inject({
      method: method as 'GET' | 'POST',
      url,
      ...(method === 'POST'
        ? { headers: { 'content-type': 'application/json' }, payload: body }
        : {}),
    });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
