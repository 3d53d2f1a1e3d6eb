/**
 * The CRD's own CEL rules, evaluated in the operator. Each `x-kubernetes-validations` rule is
 * written once, in the zod schema's metadata; the API server enforces it at `kubectl apply`, and
 * the operator evaluates the same text with @bufbuild/cel (a conformance-tested CEL evaluator
 * with an RE2 engine) over the generated structural schema, so objects admitted under an older
 * CRD get the same verdict. The schema types the values as the API server does: `integer` is a
 * CEL int, `number` a double, int-or-string either.
 *
 * Why evaluate rather than drop the zod copies and leave the API server the only gate: the
 * operator also reads objects admitted under an older, laxer CRD, and must refuse them as the
 * API server now would (InvalidSpec) instead of sending children the API server rejects.
 *
 * Kubernetes adds libraries to CEL; cel-es ships the strings extension, and this file adds the
 * one other the rules use: quantity (isQuantity, quantity, compareTo). A rule that calls any
 * other Kubernetes function fails here with "unbound function" (a unit test breaks every rule
 * with a row of the shared table and demands a clean false).
 */
import {
  celEnv,
  celFunc,
  celMethod,
  CelScalar,
  isCelError,
  mapType,
  parse,
  plan,
  type CelMap,
  type CelResult,
} from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { RE2JS } from '@bufbuild/re2';
import { compareQuantities, parseQuantity, type Quantity } from '../../../formats/quantity.ts';
import type { CelRule } from './schema-kit.ts';

/** The structural schema keys this file reads. */
export interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-validations'?: CelRule[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
}

export interface RuleIssue {
  path: (string | number)[];
  message: string;
}

// A quantity travels through CEL as a one-entry map: cel-es has opaque values only for protobuf
// messages, and nothing in the rules can tell the difference.
const quantityKey = 'k8s.io/quantity';
const quantityType = mapType(CelScalar.STRING, CelScalar.STRING);

function quantityOf(text: string): Quantity {
  const q = parseQuantity(text);
  if (!q) throw new Error(`quantities must match the regular expression: ${text}`);
  return q;
}
const unwrap = (m: CelMap) => {
  const text = m.get(quantityKey);
  if (typeof text !== 'string') throw new Error('compareTo needs two quantities');
  return quantityOf(text);
};

const kubernetesQuantity = [
  celFunc('isQuantity', [CelScalar.STRING], CelScalar.BOOL, (s) => parseQuantity(s) !== undefined),
  celFunc('quantity', [CelScalar.STRING], quantityType, (s) => {
    quantityOf(s);
    return new Map([[quantityKey, s]]);
  }),
  celMethod('compareTo', quantityType, [quantityType], CelScalar.INT, function (other) {
    return BigInt(compareQuantities(unwrap(this), unwrap(other)));
  }),
];

/**
 * RE2 semantics (linear time, as in the API server), each pattern compiled once: cel-es
 * compiles on every call, and compiling the label-key pattern costs ~6 ms against ~2 ms for
 * matching a 320-character key with it.
 */
const compiled = new Map<string, RE2JS>();
const re2 = {
  compile(pattern: string) {
    const re = compiled.get(pattern) ?? RE2JS.compile(pattern);
    compiled.set(pattern, re);
    return re;
  },
};

const env = celEnv({ funcs: [...strings, ...kubernetesQuantity], re2 });
type Planned = (ctx: { self: never }) => CelResult;
const plans = new Map<string, Planned>();

/** Evaluate one rule with `self` bound; true, false or the evaluation error's message. */
export function evaluateRule(rule: string, self: unknown): boolean | string {
  let run = plans.get(rule);
  if (!run) {
    run = plan(env, parse(rule));
    plans.set(rule, run);
  }
  const result = run({ self: self as never });
  if (isCelError(result)) return result.message;
  if (typeof result !== 'boolean') return `rule returned ${typeof result}, not bool`;
  return result;
}

/** A JSON value as the API server hands it to CEL, typed by its schema node. */
export function toCel(node: SchemaNode, value: unknown): unknown {
  if (typeof value === 'number' && Number.isInteger(value)) {
    if (node.type === 'integer' || node['x-kubernetes-int-or-string']) return BigInt(value);
  }
  if (Array.isArray(value))
    return (value as unknown[]).map((v) => (node.items ? toCel(node.items, v) : v));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const child = node.properties?.[key] ?? additional(node);
    out[key] = child ? toCel(child, v) : v;
  }
  return out;
}

const additional = (node: SchemaNode) =>
  typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined;

/** `.a.b` (a rule's fieldPath) as path segments. */
const fieldPathSegments = (fieldPath: string | undefined) =>
  fieldPath ? fieldPath.split('.').filter(Boolean) : [];

/**
 * Every rule of the schema that the value breaks, with the path the API server reports,
 * plus duplicate keys of `x-kubernetes-list-type: map|set` lists.
 */
export function ruleIssues(
  node: SchemaNode,
  value: unknown,
  path: (string | number)[] = [],
): RuleIssue[] {
  if (value === undefined) return [];
  const issues: RuleIssue[] = [];
  for (const rule of node['x-kubernetes-validations'] ?? []) {
    const verdict = evaluateRule(rule.rule, toCel(node, value));
    if (verdict === true) continue;
    const at = [...path, ...fieldPathSegments(rule.fieldPath)];
    issues.push({
      path: at,
      message: verdict === false ? rule.message : `${rule.message} (${verdict})`,
    });
  }
  if (Array.isArray(value)) {
    issues.push(...duplicates(node, value, path));
    value.forEach((v, i) => node.items && issues.push(...ruleIssues(node.items, v, [...path, i])));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      const child = node.properties?.[key] ?? additional(node);
      if (child) issues.push(...ruleIssues(child, v, [...path, key]));
    }
  }
  return issues;
}

function duplicates(node: SchemaNode, list: unknown[], path: (string | number)[]): RuleIssue[] {
  const type = node['x-kubernetes-list-type'];
  if (type !== 'map' && type !== 'set') return [];
  const keys = node['x-kubernetes-list-map-keys'] ?? [];
  const identity = (v: unknown) =>
    JSON.stringify(
      type === 'set'
        ? v
        : Object.fromEntries(keys.map((k) => [k, (v as Record<string, unknown>)[k]])),
    );
  const unique =
    type === 'set' ? 'entries must be unique' : `entries must be unique by ${keys.join(', ')}`;
  const seen = new Set<string>();
  const issues: RuleIssue[] = [];
  list.forEach((v, i) => {
    const id = identity(v);
    if (seen.has(id))
      issues.push({ path: [...path, i], message: `Duplicate value: ${id}: ${unique}` });
    seen.add(id);
  });
  return issues;
}
