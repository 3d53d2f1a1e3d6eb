/** Small zod building blocks that map onto Kubernetes OpenAPI conventions. */
import { z } from 'zod';

export interface CelRule {
  rule: string;
  message: string;
  /** JSONPath (relative to the schema node) the API server names in its error. */
  fieldPath?: string;
}

/** Metadata that becomes `x-kubernetes-validations` in the generated CRD schema. */
export function cel(...rules: CelRule[]): { 'x-kubernetes-validations': CelRule[] } {
  return { 'x-kubernetes-validations': rules };
}

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

/** A resource quantity ("500m", "4Gi", 2): the CRD's x-kubernetes-int-or-string. */
export const intOrString = z
  .union([
    z
      .string()
      .max(64)
      .regex(
        /^[+-]?[0-9.]+([eE][+-]?[0-9]+|[a-zA-Z]{1,2})?$/,
        'must be a quantity like 500m or 4Gi',
      ),
    z.number(),
  ])
  .meta({ 'x-kubernetes-int-or-string': true });

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
