/**
 * Token files as the runtime and the router read them: re-read every second, any line
 * accepted, the first one sent, and the tokens before a change accepted (and offered for a
 * retry) until the grace ends. Time moves with the fake clock; the file is a variable.
 */
import { describe, expect, it } from 'vitest';
import { loadRouterConfig } from '../../src/router/config.ts';
import { parseTokens, TokenFile } from '../../src/image-api/tokens.ts';
import { FakeClock } from '../support/fake-clock.ts';

function fileOf(initial: string, graceMs = 10_000) {
  const clock = new FakeClock(1_000_000);
  let text: string | Error = initial;
  const warnings: string[] = [];
  const tokens = new TokenFile({
    path: '/auth/token',
    graceMs,
    clock,
    readFile: () => {
      if (text instanceof Error) throw text;
      return text;
    },
    log: { info: () => undefined, warn: (_o, msg) => warnings.push(msg) },
  });
  const write = (next: string | Error) => (text = next);
  return { clock, tokens, write, warnings };
}

describe('parseTokens', () => {
  it.each<[string, string, string[] | string]>([
    ['one token and the newline a Secret file ends with', 'abc\n', ['abc']],
    ['one token per line, blank lines and CRs dropped', 'new\r\n\n  old  \n', ['new', 'old']],
    ['nothing', ' \n\n', 'holds no token'],
    ['a space inside a token', 'a b\n', 'line 1 must be printable ASCII without spaces'],
    ['a control character', 'ok\nb\u0007d', 'line 2 must be printable ASCII'],
  ])('%s', (_name, text, expected) => {
    const got = parseTokens(text);
    if (typeof expected === 'string') expect(got).toMatch(expected);
    else expect(got).toEqual(expected);
  });
});

describe('TokenFile', () => {
  it('refuses to open a file without a token (start-up fails)', () => {
    expect(() => fileOf('\n')).toThrow('/auth/token holds no token');
  });

  it('accepts every line, sends the first', () => {
    const { tokens } = fileOf('new\nold\n');
    expect(['new', 'old', 'other', ''].map((t) => tokens.accepts(t))).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(tokens.send()).toEqual({ current: 'new', previous: undefined });
    tokens.stop();
  });

  it('takes a rotation within a second, keeps the old token for the grace, then refuses it', async () => {
    const { clock, tokens, write } = fileOf('old\n', 10_000);
    write('new\n');
    expect(tokens.accepts('new')).toBe(false);
    await clock.advance(1_000);
    expect(tokens.accepts('new')).toBe(true);
    expect(tokens.accepts('old')).toBe(true);
    expect(tokens.send()).toEqual({ current: 'new', previous: 'old' });
    await clock.advance(9_999);
    expect(tokens.accepts('old')).toBe(true);
    await clock.advance(1);
    expect(tokens.accepts('old')).toBe(false);
    expect(tokens.accepts('new')).toBe(true);
    expect(tokens.send()).toEqual({ current: 'new', previous: undefined });
    tokens.stop();
  });

  it('with no grace, refuses the old token as soon as it sees the new one', async () => {
    const { clock, tokens, write } = fileOf('old', 0);
    write('new');
    await clock.advance(1_000);
    expect([tokens.accepts('old'), tokens.accepts('new')]).toEqual([false, true]);
    expect(tokens.send().previous).toBeUndefined();
    tokens.stop();
  });

  it('keeps the last tokens through an unreadable or empty file, warning once each', async () => {
    const { clock, tokens, write, warnings } = fileOf('keep\n');
    write(Object.assign(new Error('gone'), { code: 'ENOENT' }));
    await clock.advance(3_000);
    write('\n');
    await clock.advance(3_000);
    expect(tokens.accepts('keep')).toBe(true);
    expect(warnings).toEqual([
      'cannot read /auth/token (ENOENT); keeping the tokens last read',
      '/auth/token holds no token; keeping the tokens last read',
    ]);
    write('next\n');
    await clock.advance(1_000);
    expect(tokens.accepts('next')).toBe(true);
    tokens.stop();
  });

  it('stops reading once stopped', async () => {
    const { clock, tokens, write } = fileOf('a');
    tokens.stop();
    write('b');
    await clock.advance(5_000);
    expect(tokens.accepts('b')).toBe(false);
    expect(clock.pending()).toEqual([]);
  });
});

describe('router token settings', () => {
  const selector = {
    ZIMAGE_ROUTER_POD_SELECTOR: 'app.kubernetes.io/name=zimage-runtime',
    ZIMAGE_NAMESPACE: 'ml',
  };
  const files: Record<string, string> = { '/auth/token': 'c\n', '/auth/pod-token': 'p\n' };
  const read = (path: string) => {
    const text = files[path];
    if (text === undefined) throw new Error(`ENOENT ${path}`);
    return text;
  };

  it('reads the client and pod token files as the operator renders them', () => {
    const config = loadRouterConfig(
      {
        ...selector,
        ZIMAGE_API_TOKEN_FILE: '/auth/token',
        ZIMAGE_POD_API_TOKEN_FILE: '/auth/pod-token',
        ZIMAGE_TOKEN_GRACE_SECONDS: '30',
      },
      read,
    );
    expect(config).toMatchObject({
      apiToken: { file: '/auth/token' },
      podToken: { file: '/auth/pod-token' },
      tokenGraceSeconds: 30,
    });
  });

  it.each<[string, Record<string, string>, RegExp]>([
    [
      'both forms of the pod token',
      { ZIMAGE_POD_API_TOKEN: 'p', ZIMAGE_POD_API_TOKEN_FILE: '/auth/pod-token' },
      /ZIMAGE_POD_API_TOKEN and ZIMAGE_POD_API_TOKEN_FILE: set one, not both/,
    ],
    [
      'a missing client token file',
      { ZIMAGE_API_TOKEN_FILE: '/auth/nope' },
      /ZIMAGE_API_TOKEN_FILE: cannot read \/auth\/nope/,
    ],
    ['a token with a space', { ZIMAGE_API_TOKEN: 'a b' }, /ZIMAGE_API_TOKEN: must be printable/],
  ])('refuses %s, naming the variable', (_name, env, message) => {
    expect(() => loadRouterConfig({ ...selector, ...env }, read)).toThrow(message);
  });
});
