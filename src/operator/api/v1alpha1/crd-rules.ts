/**
 * zod's half of "one rule, two judges": a schema wrapped here checks its value against every
 * CEL rule (and list-type key) of its own generated CRD schema, so zod refinements never copy
 * a rule. The API server runs the same rules at `kubectl apply`.
 */
import type { z } from 'zod';
import { ruleIssues, type SchemaNode } from './cel.ts';
import { openApi } from './openapi.ts';

export function withCrdRules<T extends z.ZodType>(schema: T): T {
  let node: SchemaNode | undefined;
  return schema.superRefine((value, ctx) => {
    // Generated on first use: the schema is complete only once the module graph has loaded.
    node ??= openApi(schema) as SchemaNode;
    for (const issue of ruleIssues(node, value))
      ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  });
}
