/**
 * A token setting as the runtime and the router read it from their environment: a literal
 * variable or a file variable (one of them), checked at start-up so that a missing or empty
 * file stops the process with a line naming the variable, then opened as `Tokens`.
 */
import type { Clock } from '../contract/clock.ts';
import {
  parseTokens,
  tokenRule,
  TokenFile,
  fixedTokens,
  type Tokens,
  type TokenFileOptions,
} from './tokens.ts';

export type TokenSetting = { token: string } | { file: string };

/** The setting of a literal/file pair of variables, or the problem, naming the variable. */
export function tokenSetting(
  env: Record<string, string | undefined>,
  names: { literal: string; file: string },
  readFile: (path: string) => string,
): { setting?: TokenSetting; problem?: string } {
  const token = env[names.literal] || undefined;
  const file = env[names.file] || undefined;
  if (token !== undefined && file !== undefined) {
    return { problem: `${names.literal} and ${names.file}: set one, not both` };
  }
  if (token !== undefined) {
    const parsed = parseTokens(token);
    return typeof parsed === 'string' || parsed.length !== 1 || parsed[0] !== token
      ? { problem: `${names.literal}: ${tokenRule}` }
      : { setting: { token } };
  }
  if (file === undefined) return {};
  let text: string;
  try {
    text = readFile(file);
  } catch (err) {
    return { problem: `${names.file}: cannot read ${file} (${String(err)})` };
  }
  const parsed = parseTokens(text);
  return typeof parsed === 'string'
    ? { problem: `${names.file}: ${file} ${parsed}` }
    : { setting: { file } };
}

/** Open a setting: a fixed token, or a file read again every second (tokens.ts). */
export function openTokens(
  setting: TokenSetting | undefined,
  o: { graceSeconds: number; clock?: Clock; log?: TokenFileOptions['log'] },
): Tokens | undefined {
  if (setting === undefined) return undefined;
  if ('token' in setting) return fixedTokens(setting.token);
  return new TokenFile({
    path: setting.file,
    graceMs: o.graceSeconds * 1000,
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
}
