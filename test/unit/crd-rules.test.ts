import { describe, expect, it } from 'vitest';
import { evaluateRule, type SchemaNode } from '../../src/operator/api/v1alpha1/cel.ts';
import { buildCrd } from '../../src/operator/api/v1alpha1/crd.ts';
import {
  maxObjectNameLength,
  zimageDeploymentName,
} from '../../src/operator/api/v1alpha1/object-name.ts';
import { zimageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import { childLabels, childNames } from '../../src/operator/api/v1alpha1/names.ts';
import { invalidSpecs, longestObjectName } from '../support/specs.ts';

type Rule = { rule: string; message: string };

/** Every CEL rule in the generated CRD, with where it sits. */
function* rules(node: SchemaNode, at: string): Generator<[string, Rule]> {
  for (const r of node['x-kubernetes-validations'] ?? []) yield [at, r];
  for (const [key, child] of Object.entries(node.properties ?? {}))
    yield* rules(child, `${at}.${key}`);
  if (node.items) yield* rules(node.items, `${at}[]`);
  if (typeof node.additionalProperties === 'object')
    yield* rules(node.additionalProperties, `${at}{}`);
}

const root = () =>
  (buildCrd() as { spec: { versions: { schema: { openAPIV3Schema: SchemaNode } }[] } }).spec
    .versions[0]!.schema.openAPIV3Schema;

/** The messages zod reports for every invalid row, unabridged. */
function rowMessages(): string[][] {
  return invalidSpecs.map((c) => {
    const spec = zimageDeploymentSpec.safeParse(c.spec());
    const name = zimageDeploymentName.safeParse({ metadata: { name: c.objectName ?? 'zid' } });
    return [...(spec.error?.issues ?? []), ...(name.error?.issues ?? [])].map((i) => i.message);
  });
}

describe('CEL rules of the CRD, evaluated by the operator', () => {
  it('breaks every rule in at least one row of the shared table, with a clean false', () => {
    const messages = rowMessages().flat();
    const all = [...rules(root(), '')];
    expect(all.length).toBeGreaterThan(30);
    for (const [at, r] of all) {
      expect(messages, `${at}: ${r.message}`).toContain(r.message);
      // A message with a suffix is an evaluation error (an unbound function, a bad type).
      expect(
        messages.filter((m) => m.startsWith(`${r.message} (`)),
        at,
      ).toEqual([]);
    }
  });

  it.each([
    ['a true rule', 'self.a <= self.b', { a: 1n, b: 2n }, true],
    ['a false rule', "self.matches('^[a-z]+$')", 'A', false],
    ['integers as CEL ints', 'self % 16 == 0', 32n, true],
    [
      'quantities compared exactly',
      "quantity(self).compareTo(quantity('1Gi')) == 0",
      '1024Mi',
      true,
    ],
    ['a bad quantity as an error', "quantity(self).compareTo(quantity('1')) == 0", '5xx', 'error'],
    ['an unknown Kubernetes function as an error', 'url(self).getHost() == "a"', 'x', 'error'],
  ] as const)('evaluates %s', (_name, rule, self, want) => {
    const got = evaluateRule(rule, self);
    if (want === 'error') expect(typeof got).toBe('string');
    else expect(got).toBe(want);
  });
});

describe('object names', () => {
  const isDns1035 = (s: string) => /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(s) && s.length <= 63;
  const isLabelValue = (s: string) =>
    s.length <= 63 && /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(s);

  it('lets the longest allowed name give children names and label values of at most 63', () => {
    expect(longestObjectName).toHaveLength(maxObjectNameLength);
    const names = Object.values(childNames(longestObjectName));
    expect(Math.max(...names.map((n) => n.length))).toBe(63);
    for (const n of names) expect(isDns1035(n), n).toBe(true);
    for (const v of Object.values(childLabels(longestObjectName)))
      expect(isLabelValue(v), v).toBe(true);
    expect(zimageDeploymentName.safeParse({ metadata: { name: longestObjectName } }).success).toBe(
      true,
    );
  });

  it('rejects a name one longer, and one a child name would not fit', () => {
    const tooLong = `${longestObjectName}z`;
    expect(Math.max(...Object.values(childNames(tooLong)).map((n) => n.length))).toBe(64);
    const result = zimageDeploymentName.safeParse({ metadata: { name: tooLong } });
    expect(result.error?.issues[0]?.path).toEqual(['metadata', 'name']);
  });
});
