/**
 * Bad requests to POST /v1/images/generations, sent over real HTTP to the real runtime process:
 * the same rules as the unit validation table (test/unit/runtime-http-validation.test.ts), but
 * through fastify's real body parsing, limits and content-type handling on a socket. Each row
 * asserts the status, the error code and that `param` or the message names what is wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodePng,
  generate,
  scrape,
  type ErrorBody,
  type ImagesBody,
} from '../support/runtime-e2e.ts';
import { startRuntime, type RuntimeProcess } from '../../dev/runtime-process.ts';

let rt: RuntimeProcess;
beforeAll(async () => {
  rt = await startRuntime();
});
afterAll(async () => {
  await rt.stop();
});

/** Statuses this file received, to check zimage_requests_total against. */
const codes = new Map<string, number>();

async function call(body: unknown, headers: Record<string, string>) {
  const answer = await generate<ImagesBody & ErrorBody>(rt, body, headers);
  codes.set(String(answer.status), (codes.get(String(answer.status)) ?? 0) + 1);
  return answer;
}

describe('bad requests through the real server', () => {
  const ok1 = { prompt: 'fox', size: '64x64' };
  const json = { 'content-type': 'application/json' };
  // [name, body (object, or raw text), status, code, param, message, headers]
  const rows: [string, unknown, number, string, string | null, RegExp, Record<string, string>?][] =
    [
      [
        'empty prompt',
        { prompt: '' },
        400,
        'invalid_prompt',
        'prompt',
        /^prompt: must not be empty/,
      ],
      [
        'missing prompt',
        { size: '64x64' },
        400,
        'invalid_prompt',
        'prompt',
        /^prompt: is required/,
      ],
      [
        'prompt a number',
        { prompt: 42 },
        400,
        'invalid_prompt',
        'prompt',
        /^prompt: must be a string/,
      ],
      [
        'prompt over 4000 characters',
        { prompt: 'x'.repeat(4001) },
        400,
        'invalid_prompt',
        'prompt',
        /at most 4000 characters/,
      ],
      [
        'size not a multiple of 16',
        { ...ok1, size: '1000x1000' },
        400,
        'invalid_size',
        'size',
        /^size: 1000x1000: .*multiple of 16 \(try 1008x1008\)/,
      ],
      [
        'size over the maximum',
        { ...ok1, size: '2048x1024' },
        400,
        'invalid_size',
        'size',
        /^size: 2048x1024: larger than .* 1024x1024/,
      ],
      [
        'size under the minimum',
        { ...ok1, size: '32x32' },
        400,
        'invalid_size',
        'size',
        /at least 64/,
      ],
      [
        'size with a leading space',
        { ...ok1, size: ' 512x512' },
        400,
        'invalid_size',
        'size',
        /^size: " 512x512": must be WIDTHxHEIGHT without spaces or leading zeros/,
      ],
      [
        'size with leading zeros',
        { ...ok1, size: '0512x0512' },
        400,
        'invalid_size',
        'size',
        /^size: "0512x0512": must be WIDTHxHEIGHT without spaces or leading zeros/,
      ],
      [
        'size a number',
        { ...ok1, size: 512 },
        400,
        'invalid_size',
        'size',
        /^size: must be a string/,
      ],
      [
        'steps 0',
        { ...ok1, steps: 0 },
        400,
        'invalid_steps',
        'steps',
        /^steps: must be at least 1$/,
      ],
      [
        'steps 500',
        { ...ok1, steps: 500 },
        400,
        'invalid_steps',
        'steps',
        /^steps: must be at most 50$/,
      ],
      [
        'steps a string',
        { ...ok1, steps: '9' },
        400,
        'invalid_steps',
        'steps',
        /^steps: must be an integer/,
      ],
      ['steps 2.5', { ...ok1, steps: 2.5 }, 400, 'invalid_steps', 'steps', /whole number/],
      ['n too big', { ...ok1, n: 5 }, 400, 'invalid_n', 'n', /^n: must be at most 4$/],
      [
        'seed negative',
        { ...ok1, seed: -1 },
        400,
        'invalid_seed',
        'seed',
        /^seed: must be at least 0$/,
      ],
      [
        'seed over 2^32-1',
        { ...ok1, seed: 2 ** 32 },
        400,
        'invalid_seed',
        'seed',
        /at most 4294967295/,
      ],
      [
        'unknown field',
        { ...ok1, step: 9 },
        400,
        'unknown_field',
        'step',
        /^step: unknown field; the accepted fields are prompt, size/,
      ],
      [
        'response_format url',
        { ...ok1, response_format: 'url' },
        400,
        'invalid_response_format',
        'response_format',
        /only "b64_json" is supported/,
      ],
      [
        'model too long',
        { ...ok1, model: 'm'.repeat(257) },
        400,
        'invalid_model',
        'model',
        /^model: must be at most 256 characters$/,
      ],
      [
        'user too long',
        { ...ok1, user: 'u'.repeat(257) },
        400,
        'invalid_user',
        'user',
        /^user: must be at most 256 characters$/,
      ],
      [
        'invalid JSON',
        '{"prompt": "fox",',
        400,
        'invalid_json',
        null,
        /request body is not valid JSON/,
      ],
      ['empty body', '', 400, 'invalid_json', null, /request body is empty/],
      ['a JSON array', '["fox"]', 400, 'invalid_body', null, /request body must be a JSON object/],
      [
        '__proto__ key',
        '{"prompt":"fox","__proto__":{"admin":true}}',
        400,
        'forbidden_key',
        '__proto__',
        /key "__proto__" is not allowed/,
      ],
      [
        'constructor.prototype key',
        '{"prompt":"fox","constructor":{"prototype":{"x":1}}}',
        400,
        'forbidden_key',
        'constructor',
        /key "constructor" is not allowed/,
      ],
      [
        'nested __proto__ key',
        '{"prompt":"fox","user":{"__proto__":{}}}',
        400,
        'forbidden_key',
        'user.__proto__',
        /__proto__/,
      ],
      [
        'body over 64 KiB',
        { prompt: 'x'.repeat(70_000) },
        413,
        'body_too_large',
        null,
        /request body is larger than the 65536-byte limit/,
      ],
      [
        'text/plain body',
        JSON.stringify(ok1),
        415,
        'unsupported_media_type',
        null,
        /content-type "text\/plain" is not supported; send the body as application\/json/,
        { 'content-type': 'text/plain' },
      ],
      [
        'form body',
        'prompt=fox',
        415,
        'unsupported_media_type',
        null,
        /application\/x-www-form-urlencoded/,
        { 'content-type': 'application/x-www-form-urlencoded' },
      ],
    ];

  it.each(rows)('%s', async (_name, body, status, code, param, message, headers = json) => {
    const answer = await call(body, headers);
    expect(answer.status, JSON.stringify(answer.body)).toBe(status);
    expect(answer.body.error).toMatchObject({ type: 'invalid_request_error', code, param });
    expect(answer.body.error.message).toMatch(message);
  });

  it('still answers a good request with 200 afterwards, and counted every refusal', async () => {
    const answer = await call({ prompt: 'a red fox in snow', size: '128x64', seed: 11 }, json);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(decodePng(answer.body.data[0]?.b64_json).height).toBe(64);
    const counted = (await scrape(rt)).byLabel('zimage_requests_total', 'code');
    expect(counted).toEqual(Object.fromEntries(codes));
    expect(codes.get('400')).toBeGreaterThanOrEqual(20);
  });
});
