/** Small zod building blocks that map onto Kubernetes OpenAPI conventions and CEL rules. */
import { z } from 'zod';

export interface CelRule {
  rule: string;
  message: string;
  /** JSONPath (relative to the schema node) the API server names in its error. */
  fieldPath?: string;
}

/**
 * Metadata that becomes `x-kubernetes-validations` in the generated CRD schema. There is no zod
 * copy: schemas wrapped in withCrdRules (crd-rules.ts) evaluate these very rules.
 */
export function cel(...rules: CelRule[]): { 'x-kubernetes-validations': CelRule[] } {
  return { 'x-kubernetes-validations': rules };
}

/** A number as a CEL double literal (`number` fields are doubles in CEL: 100 -> 100.0). */
export const celDouble = (n: number) => (Number.isInteger(n) ? `${n}.0` : String(n));

/** Go-style durations as Kubernetes writes them: 500ms, 5s, 1m30s. */
export const durationPattern = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;

const unitSeconds: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** Seconds in a duration string matching durationPattern (e.g. "1m30s" -> 90). */
export function durationSeconds(value: string): number {
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)) {
    total += Number(amount) * unitSeconds[unit!]!;
  }
  return total;
}

// Regular expressions inside CEL string literals: RE2 syntax, and no backslashes (CEL would
// read them as escapes), hence `[.]` for a dot.
const dns1123Label = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
/** A label value: empty, or up to 63 of A-Z a-z 0-9 - _ . with alphanumerics at both ends. */
export const labelValuePattern = '^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$';
const qualifiedNamePattern = `^(${dns1123Label}([.]${dns1123Label})*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`;

/**
 * CEL for "expr is a qualified name" (label keys, taint keys, resource names): an optional
 * DNS-subdomain prefix of at most 253 characters and '/', then a name of at most 63.
 */
export const isQualifiedName = (expr: string) =>
  `${expr}.matches('${qualifiedNamePattern}') && ${expr}.matches('^([^/]{1,253}/)?[^/]*$')`;

export const qualifiedNameHint =
  "an optional DNS-subdomain prefix and '/', then at most 63 of A-Z a-z 0-9 - _ . " +
  'starting and ending alphanumeric (e.g. nvidia.com/gpu.product)';
export const labelValueHint =
  'at most 63 of A-Z a-z 0-9 - _ . starting and ending alphanumeric, or empty';

/**
 * A string-keyed map with at most maxProperties entries: the bound CEL cost estimation needs
 * on every map a rule iterates, and the same bound for zod.
 */
export function boundedRecord<V extends z.ZodType>(value: V, maxProperties: number) {
  return z
    .record(z.string(), value)
    .refine((r) => Object.keys(r).length <= maxProperties, {
      message: `must have at most ${maxProperties} entries`,
    })
    .meta({ maxProperties });
}

/**
 * CEL for "x is a quantity", with an exponent of at most 2 digits. The API server's quantity
 * library computes 10^exponent exactly: "1e9999999999" kept kube-apiserver 1.37 busy past the
 * request timeout (a 504) and burning a core after it, so a longer exponent is refused before
 * isQuantity or compareTo see it (CEL's && stops at the first false).
 */
export const isQuantityExpr = (x: string) =>
  `!${x}.matches('[eE][-+]?[0-9]{3,}$') && isQuantity(${x})`;

/** A resource quantity ("500m", "4Gi", 2): the CRD's x-kubernetes-int-or-string. */
export const quantity = z.union([z.string().max(64), z.number().int()]).meta({
  'x-kubernetes-int-or-string': true,
  ...cel({
    rule: `${isQuantityExpr('string(self)')} && !string(self).startsWith('-')`,
    message: 'must be a non-negative quantity like 8, 500m or 48Gi (exponents of at most 2 digits)',
  }),
});

/** A DNS-1123 label (names of rules, containers). */
export const name63 = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a lowercase DNS label');

/** A DNS-1123 subdomain (names of objects). */
export const name253 = z
  .string()
  .min(1)
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'must be a lowercase DNS subdomain',
  );
