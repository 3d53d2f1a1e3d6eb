/**
 * When the sandbox tests (test/runtime/sandbox.test.ts) may skip: never silently in CI.
 */
import { describe, expect, it } from 'vitest';
import { sandboxSkip } from '../support/sandbox.ts';

const noUserns = 'bwrap cannot create user and PID namespaces on this machine: ...';

describe('sandbox tests: run, skip, or refuse to skip', () => {
  // [name, env, why bwrap cannot run (undefined: it can), skipped with / throws]
  const rows: [
    string,
    Record<string, string>,
    string | undefined,
    { skip?: string; throws?: RegExp },
  ][] = [
    ['namespaces available: run', {}, undefined, {}],
    ['namespaces available in CI: run', { CI: 'true' }, undefined, {}],
    ['a developer machine without namespaces: skip, saying why', {}, noUserns, { skip: noUserns }],
    [
      'CI without namespaces: fail, naming the opt-out',
      { CI: 'true' },
      noUserns,
      { throws: /In CI the sandbox tests must run[\s\S]*ZIMAGE_SKIP_SANDBOX/ },
    ],
    [
      'CI without namespaces, opted out with a reason: skip with that reason',
      { CI: 'true', ZIMAGE_SKIP_SANDBOX: 'runner has no userns (ticket 12)' },
      noUserns,
      { skip: 'ZIMAGE_SKIP_SANDBOX: runner has no userns (ticket 12)' },
    ],
    [
      'an opt-out without a reason: fail',
      { CI: 'true', ZIMAGE_SKIP_SANDBOX: '1' },
      noUserns,
      { throws: /ZIMAGE_SKIP_SANDBOX=1: say why/ },
    ],
    [
      'an opt-out skips even where the sandbox could run',
      { ZIMAGE_SKIP_SANDBOX: 'profiling without bwrap' },
      undefined,
      { skip: 'ZIMAGE_SKIP_SANDBOX: profiling without bwrap' },
    ],
    ['an empty opt-out counts as unset', { CI: '1', ZIMAGE_SKIP_SANDBOX: ' ' }, undefined, {}],
  ];

  it.each(rows)('%s', (_name, env, unavailable, expected) => {
    if (expected.throws) {
      expect(() => sandboxSkip(env, unavailable)).toThrow(expected.throws);
    } else {
      expect(sandboxSkip(env, unavailable)).toBe(expected.skip);
    }
  });
});
