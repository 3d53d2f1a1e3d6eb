/** loadConfigOrExit, the config step both main.ts share: exit 2 with the message, or the config. */
import { describe, expect, it } from 'vitest';
import { loadConfig as loadOperatorConfig } from '../../src/operator/config.ts';
import { loadConfig as loadRuntimeConfig } from '../../src/runtime/config.ts';
import { loadConfigOrExit } from '../../src/contract/startup.ts';

/** process.exit never returns; this one records the code and unwinds. */
class Exited extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

function run(load: () => unknown) {
  let stderr = '';
  const io = {
    stderr: { write: (text: string) => (stderr += text) },
    exit: (code: number): never => {
      throw new Exited(code);
    },
  };
  try {
    const value = loadConfigOrExit(load, io);
    return { value, exit: undefined, stderr };
  } catch (err) {
    if (err instanceof Exited) return { value: undefined, exit: err.code, stderr };
    return { value: undefined, exit: undefined, stderr, thrown: (err as Error).message };
  }
}

describe('loadConfigOrExit', () => {
  it.each([
    {
      name: 'a good operator config is returned, nothing written',
      load: () => loadOperatorConfig(['--concurrency=3'], {}).concurrency,
      want: { value: 3, exit: undefined, stderr: '' },
    },
    {
      name: 'a bad operator flag: its one line, exit 2',
      load: () => loadOperatorConfig(['--concurrency=0'], {}),
      want: {
        value: undefined,
        exit: 2,
        stderr:
          'invalid operator configuration: --concurrency (env ZIMAGE_CONCURRENCY) got "0": expected an integer from 1 to 64\n',
      },
    },
    {
      name: 'a bad runtime variable: the runtime message as it is, exit 2',
      load: () => loadRuntimeConfig({ ZIMAGE_MAX_QUEUE: 'four' }),
      want: {
        value: undefined,
        exit: 2,
        stderr: expect.stringMatching(
          /^invalid runtime configuration:\n {2}ZIMAGE_MAX_QUEUE: .+\n$/,
        ) as string,
      },
    },
    {
      name: 'any other error is a bug: it propagates, nothing written, no exit',
      load: () => {
        throw new TypeError('boom');
      },
      want: { value: undefined, exit: undefined, stderr: '', thrown: 'boom' },
    },
  ])('$name', ({ load, want }) => {
    expect(run(load)).toEqual(want);
  });
});
