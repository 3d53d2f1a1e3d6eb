/**
 * Bad requests to POST /v1/images/generations: each named row asserts the status and that the
 * error names the field (param) and says what is wrong.
 */
import { describe, expect, it } from 'vitest';
import { FakeEngine } from '../support/fake-engine.ts';
import { post, testAppPerTest, type ErrorBody } from '../support/runtime-app.ts';

const setup = testAppPerTest();

const ok = { prompt: 'a red fox in snow' };

describe('POST /v1/images/generations: bad requests', () => {
  // [name, body (object, or raw text), status, param, message must match, headers]
  const rows: [string, unknown, number, string | null, RegExp, Record<string, string>?][] = [
    [
      'prompt over the hard cap',
      { prompt: 'x'.repeat(4_001) },
      400,
      'prompt',
      /prompt: must be at most 4000 characters/,
    ],
    [
      'prompt too long for the text encoder',
      { prompt: 'LONG' },
      400,
      'prompt',
      /prompt: .*512 tokens/,
    ],
    ['empty prompt', { prompt: '' }, 400, 'prompt', /prompt: must not be empty/],
    [
      'whitespace prompt',
      { prompt: ' \n\t ' },
      400,
      'prompt',
      /prompt: must not be empty or only whitespace/,
    ],
    ['missing prompt', { size: '512x512' }, 400, 'prompt', /prompt: is required/],
    ['prompt of the wrong type', { prompt: 42 }, 400, 'prompt', /prompt: must be a string/],
    [
      'size not a multiple of 16',
      { ...ok, size: '1000x1000' },
      400,
      'size',
      /size: 1000x1000: each side must be a multiple of 16 \(try 1008x1008\)/,
    ],
    [
      'size over the maximum',
      { ...ok, size: '2048x1024' },
      400,
      'size',
      /size: 2048x1024: larger than this server's maximum 1024x1024/,
    ],
    [
      'size under the minimum',
      { ...ok, size: '32x32' },
      400,
      'size',
      /size: 32x32: each side must be at least 64/,
    ],
    [
      'malformed size',
      { ...ok, size: 'large' },
      400,
      'size',
      /size: "large": must be WIDTHxHEIGHT/,
    ],
    [
      'size with a leading space',
      { ...ok, size: ' 512x512' },
      400,
      'size',
      /size: " 512x512": must be WIDTHxHEIGHT without spaces or leading zeros/,
    ],
    [
      'size with a trailing space',
      { ...ok, size: '512x512 ' },
      400,
      'size',
      /size: "512x512 ": must be WIDTHxHEIGHT without spaces/,
    ],
    ['size with inner spaces', { ...ok, size: '512 x 512' }, 400, 'size', /without spaces/],
    [
      'size with leading zeros',
      { ...ok, size: '0512x0512' },
      400,
      'size',
      /size: "0512x0512": must be WIDTHxHEIGHT without spaces or leading zeros/,
    ],
    ['size with a sign', { ...ok, size: '+512x512' }, 400, 'size', /must be WIDTHxHEIGHT/],
    ['size with an upper-case X', { ...ok, size: '512X512' }, 400, 'size', /must be WIDTHxHEIGHT/],
    ['size as a number', { ...ok, size: 1024 }, 400, 'size', /size: must be a string/],
    ['steps 0', { ...ok, steps: 0 }, 400, 'steps', /steps: must be at least 1/],
    ['steps 500', { ...ok, steps: 500 }, 400, 'steps', /steps: must be at most 50/],
    [
      'steps 2.5',
      { ...ok, steps: 2.5 },
      400,
      'steps',
      /steps: must be a whole number between 1 and 50/,
    ],
    [
      'steps as a string',
      { ...ok, steps: '9' },
      400,
      'steps',
      /steps: must be an integer between 1 and 50/,
    ],
    ['n 0', { ...ok, n: 0 }, 400, 'n', /n: must be at least 1/],
    ['n over the maximum', { ...ok, n: 5 }, 400, 'n', /n: must be at most 4/],
    ['negative seed', { ...ok, seed: -1 }, 400, 'seed', /seed: must be at least 0/],
    ['fractional seed', { ...ok, seed: 1.5 }, 400, 'seed', /seed: must be a whole number/],
    ['seed over 2^32-1', { ...ok, seed: 2 ** 32 }, 400, 'seed', /seed: must be at most 4294967295/],
    [
      'unknown field',
      { ...ok, negative_prompt: 'blurry' },
      400,
      'negative_prompt',
      /negative_prompt: unknown field; the accepted fields are prompt, size, n, seed, steps, response_format, model, user/,
    ],
    [
      'model over 256 characters',
      { ...ok, model: 'm'.repeat(257) },
      400,
      'model',
      /model: must be at most 256 characters/,
    ],
    [
      'user over 256 characters',
      { ...ok, user: 'u'.repeat(257) },
      400,
      'user',
      /user: must be at most 256 characters/,
    ],
    ['model not a string', { ...ok, model: 3 }, 400, 'model', /model: must be a string/],
    [
      'response_format url',
      { ...ok, response_format: 'url' },
      400,
      'response_format',
      /response_format: only "b64_json" is supported/,
    ],
    [
      'response_format other',
      { ...ok, response_format: 'png' },
      400,
      'response_format',
      /response_format: must be "b64_json"/,
    ],
    ['invalid JSON', '{"prompt": "fox",', 400, null, /request body is not valid JSON/],
    ['empty body', '', 400, null, /request body is empty/],
    ['body not an object', '["a fox"]', 400, null, /request body must be a JSON object/],
    [
      '__proto__ key',
      '{"prompt":"fox","__proto__":{"admin":true}}',
      400,
      '__proto__',
      /__proto__: key "__proto__" is not allowed/,
    ],
    [
      'nested __proto__ key',
      '{"prompt":"fox","user":{"__proto__":{}}}',
      400,
      'user.__proto__',
      /key "__proto__" is not allowed/,
    ],
    [
      'constructor.prototype key',
      '{"prompt":"fox","constructor":{"prototype":{"admin":true}}}',
      400,
      'constructor',
      /key "constructor" is not allowed/,
    ],
    [
      'body over the limit',
      { prompt: 'x'.repeat(70_000) },
      413,
      null,
      /request body is larger than the 65536-byte limit/,
    ],
    [
      'wrong content type',
      'prompt=fox',
      415,
      null,
      /content-type "text\/plain" is not supported; send the body as application\/json/,
      { 'content-type': 'text/plain' },
    ],
    [
      'form content type',
      'prompt=fox',
      415,
      null,
      /content-type "application\/x-www-form-urlencoded"/,
      { 'content-type': 'application/x-www-form-urlencoded' },
    ],
  ];

  it.each(rows)('%s', async (_name, body, status, param, message, headers) => {
    const engine = new FakeEngine();
    engine.failWith = (job) =>
      job.prompt === 'LONG'
        ? {
            code: 'PROMPT_TOO_LONG',
            message: 'the prompt is 700 tokens; the text encoder takes 512 tokens',
          }
        : undefined;
    const t = await setup({ engine });
    const res = await post(t, body, headers);
    expect(res.statusCode).toBe(status);
    const { error } = res.json<ErrorBody>();
    expect(error.param).toBe(param);
    expect(error.message).toMatch(message);
    expect(error.type).toBe('invalid_request_error');
    // Refused before the queue (the engine never saw it), except the one only the
    // tokenizer can judge.
    expect(engine.jobs.map((j) => j.prompt)).toEqual(engine.jobs.length ? ['LONG'] : []);
  });

  it('counts bad requests by status code', async () => {
    const t = await setup();
    await post(t, { prompt: '' });
    await post(t, 'nope', { 'content-type': 'text/plain' });
    const text = await t.metrics.registry.metrics();
    expect(text).toContain('zimage_requests_total{code="400"} 1');
    expect(text).toContain('zimage_requests_total{code="415"} 1');
  });
});
