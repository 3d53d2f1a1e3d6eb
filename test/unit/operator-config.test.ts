import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/operator/config.ts';

describe('operator configuration', () => {
  it('reads flags before env, with documented defaults', () => {
    const c = loadConfig(['--watch-namespaces=a, b', '--http-port=9000'], {
      ZIMAGE_HTTP_PORT: '1',
      ZIMAGE_LEADER_ELECT: 'false',
    });
    expect(c.watchNamespaces).toEqual(['a', 'b']);
    expect(c.httpPort).toBe(9000);
    expect(c.leaderElect).toBe(false);
    expect(c.watchdogSeconds).toBe(60);
    expect(c.relistSeconds).toBe(600);
  });

  it.each([
    [['--http-port=70000'], '--http-port (ZIMAGE_HTTP_PORT)'],
    [['--log-level=loud'], '--log-level (ZIMAGE_LOG_LEVEL)'],
    [['--leader-elect=maybe'], '--leader-elect (ZIMAGE_LEADER_ELECT)'],
    [['--concurrency=0'], '--concurrency (ZIMAGE_CONCURRENCY)'],
  ])('rejects %j naming %s', (argv, named) => {
    expect(() => loadConfig(argv, {})).toThrow(named);
  });

  it('rejects an unknown flag', () => {
    expect(() => loadConfig(['--leader-elekt=true'], {})).toThrow(/leader-elekt/);
  });
});
