/**
 * The API's only body parser: JSON, with prototype-pollution keys refused by name. Fastify's
 * default parser (secure-json-parse) also refuses them, but answers every such body with the
 * same "Body is not valid JSON" a typo gets; a client deserves to know which key was refused.
 * No legitimate request has these keys, so any depth counts.
 */
import type { FastifyInstance } from 'fastify';
import { invalidField } from './errors.ts';

const forbiddenKeys = new Set(['__proto__', 'constructor', 'prototype']);

/** Dotted path of the first forbidden key, e.g. "constructor.prototype", or undefined. */
export function findForbiddenKey(value: unknown): string | undefined {
  // Iterative: a 64 KiB body can nest 32k levels, deeper than the call stack allows.
  const stack: { node: unknown; path: string }[] = [{ node: value, path: '' }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { node, path } = item;
    if (typeof node !== 'object' || node === null) continue;
    for (const key of Object.keys(node)) {
      const here = path ? `${path}.${key}` : key;
      if (forbiddenKeys.has(key)) return here;
      stack.push({ node: (node as Record<string, unknown>)[key], path: here });
    }
  }
  return undefined;
}

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') {
    throw invalidField(null, 'request body is empty; send a JSON object', 'invalid_json');
  }
  let value: unknown;
  try {
    // JSON.parse makes "__proto__" an own data property (it never sets the prototype), so
    // the check below sees it as a plain key.
    value = JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw invalidField(null, `request body is not valid JSON: ${reason}`, 'invalid_json');
  }
  const forbidden = findForbiddenKey(value);
  if (forbidden !== undefined) {
    throw invalidField(
      forbidden,
      `${forbidden}: key "${forbidden.split('.').pop()}" is not allowed in a request body`,
      'forbidden_key',
    );
  }
  return value;
}

/** Accept application/json only (anything else -> 415), within the byte limit (-> 413). */
export function useJsonBodies(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit },
    (_request, body, done) => {
      try {
        done(null, parseJsonBody(body as string));
      } catch (err) {
        done(err as Error, undefined);
      }
    },
  );
}
