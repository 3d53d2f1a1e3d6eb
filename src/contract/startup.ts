/**
 * What every app's main.ts does before its factory runs: load the configuration, or stop with
 * exit code 2 and the problems on stderr (no stack: the message names the flag or variable and
 * what it accepts). Exit 2, not 1, so a wrapper tells "fix your config" from "it crashed".
 */

/** A configuration an app cannot start with; each app's loadConfig throws a subclass. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Where a refused configuration goes; main.ts passes the process's own. */
export interface StartupIo {
  stderr: { write(text: string): unknown };
  exit(code: number): never;
}

const processIo: StartupIo = {
  stderr: process.stderr,
  exit: (code) => process.exit(code),
};

/**
 * Run `load`; on a ConfigError write its message and exit 2. Any other error is a bug and
 * propagates with its stack.
 */
export function loadConfigOrExit<T>(load: () => T, io: StartupIo = processIo): T {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`${err.message}\n`);
    return io.exit(2);
  }
}
