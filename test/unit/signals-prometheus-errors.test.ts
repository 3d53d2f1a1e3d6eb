/**
 * What of a failed Prometheus query reaches status (api.ts): the spec's URL may point at any
 * server, so a failure says the HTTP status and a reason in our words, never the body's text.
 * Each reply below hides "s3cr3t" where a careless message would copy it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { queryVector } from '../../src/operator/signals/prometheus/api.ts';
import { localServer, type LocalServer } from '../support/signal-bodies.ts';

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const json = (body: unknown) => JSON.stringify(body);

describe('a failed query in status', () => {
  it.each([
    {
      name: "Prometheus's error: its type, not its text",
      status: 400,
      body: json({ status: 'error', errorType: 'bad_data', error: 'parse error near s3cr3t' }),
      reason: 'QueryError',
      message: 'Prometheus error bad_data (HTTP 400 Bad Request)',
    },
    {
      name: 'an error type that is not one of Prometheus’s',
      status: 500,
      body: json({ status: 'error', errorType: 'db at s3cr3t', error: 'x' }),
      reason: 'QueryError',
      message: 'Prometheus error unknown (HTTP 500 Internal Server Error)',
    },
    {
      name: "a proxy's HTML page",
      status: 502,
      body: '<html>upstream 10.0.0.9 token s3cr3t</html>',
      reason: 'HttpStatus',
      message: 'HTTP 502 Bad Gateway',
    },
    {
      name: "another API's JSON",
      status: 404,
      body: json({ message: 's3cr3t', status: 's3cr3t' }),
      reason: 'HttpStatus',
      message: /^not a Prometheus vector answer \(HTTP 404 Not Found\): status: /,
    },
    {
      name: 'a label name of the body (the path stops two levels down)',
      status: 200,
      body: json({
        status: 'success',
        data: { resultType: 'vector', result: [{ metric: { s3cr3t: 1 }, value: [0, '1'] }] },
      }),
      reason: 'BadBody',
      message:
        'not a Prometheus vector answer: data.result: Invalid input: expected string, received number',
    },
  ])('$name', async ({ status, body, reason, message }) => {
    const server = await localServer((_req, _body, res) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(body),
    );
    servers.push(server);
    const got = await queryVector(server.url, 'up', { timeoutMs: 2000 });
    expect(got).toMatchObject({ ok: false, reason });
    const text = !got.ok ? got.message : '';
    const prefix = `${server.url}/api/v1/query: `;
    expect(text.startsWith(prefix)).toBe(true);
    if (typeof message === 'string') expect(text.slice(prefix.length)).toBe(message);
    else expect(text.slice(prefix.length)).toMatch(message);
    expect(text).not.toContain('s3cr3t');
  });

  it('a redirect is an answer, not a hop: the place it points to is never asked', async () => {
    const elsewhere = await localServer((_req, _body, res) => res.end('{}'));
    const redirector = await localServer((_req, _body, res) =>
      res.writeHead(307, { location: `${elsewhere.url}/api/v1/query` }).end('s3cr3t'),
    );
    servers.push(elsewhere, redirector);
    const got = await queryVector(redirector.url, 'up', { timeoutMs: 2000 });
    expect(elsewhere.requests).toBe(0);
    expect(got).toMatchObject({
      ok: false,
      reason: 'HttpStatus',
      message: `${redirector.url}/api/v1/query: HTTP 307 Temporary Redirect`,
    });
  });
});
