/** zod schemas as the structural OpenAPI v3 schemas the API server demands of a CRD. */
import { z } from 'zod';

export type Json = { [key: string]: unknown };

/**
 * zod's OpenAPI 3.0 output, made structural (what the API server demands of a CRD schema):
 * no `additionalProperties: false` next to `properties` (the server prunes unknown fields and
 * kubectl's strict field validation reports them), int-or-string instead of anyOf, no JS
 * safe-integer bounds.
 */
function structural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(structural);
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node as Json)) out[key] = structural(value);
  if (out['additionalProperties'] === false) delete out['additionalProperties'];
  if (out['x-kubernetes-int-or-string'] === true) intOrString(out);
  if (out['minimum'] === Number.MIN_SAFE_INTEGER) delete out['minimum'];
  if (out['maximum'] === Number.MAX_SAFE_INTEGER) delete out['maximum'];
  return out;
}

/**
 * An int-or-string node may not hold anyOf branches with types; the string branch's maxLength
 * moves up to the node, where CEL cost estimation needs it (the API server refuses a rule on
 * an unbounded string that could cost more than its budget).
 */
function intOrString(node: Json): void {
  const branches = (node['anyOf'] ?? []) as Json[];
  const maxLength = branches.find((b) => b['type'] === 'string')?.['maxLength'];
  delete node['anyOf'];
  if (maxLength !== undefined) node['maxLength'] = maxLength;
}

export function openApi(schema: z.ZodType): Json {
  return structural(
    z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'throw' }),
  ) as Json;
}
