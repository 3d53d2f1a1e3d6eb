import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildCrd } from '../../src/operator/api/v1alpha1/crd.ts';
import { crdPath, renderCrdYaml } from '../../src/operator/api/v1alpha1/crd-yaml.ts';
import { apiDocsPath, renderApiDocs } from '../../src/operator/api/v1alpha1/docs.ts';
import { repoRoot } from '../../dev/paths.ts';

type Node = Record<string, unknown>;

/** Every object schema node with its path, for structural checks. */
function* walk(node: unknown, at: string): Generator<[string, Node]> {
  if (!node || typeof node !== 'object') return;
  const n = node as Node;
  yield [at, n];
  for (const [key, child] of Object.entries((n['properties'] as Node | undefined) ?? {}))
    yield* walk(child, `${at}.${key}`);
  if (n['items']) yield* walk(n['items'], `${at}[]`);
  if (n['additionalProperties'] && typeof n['additionalProperties'] === 'object')
    yield* walk(n['additionalProperties'], `${at}{}`);
}

const schema = () => {
  const crd = buildCrd() as { spec: { versions: { schema: { openAPIV3Schema: Node } }[] } };
  return crd.spec.versions[0]!.schema.openAPIV3Schema;
};

describe('generated CRD', () => {
  it('is checked in and current (run `npm run gen:crd` after changing the zod schema)', () => {
    const checkedIn = fs.readFileSync(path.join(repoRoot, crdPath), 'utf8');
    expect(checkedIn).toBe(renderCrdYaml());
  });

  it('has a current docs/api.md (generated from the same schema)', () => {
    expect(fs.readFileSync(path.join(repoRoot, apiDocsPath), 'utf8')).toBe(renderApiDocs());
  });

  it('is structural: no preserve-unknown-fields, no anyOf, every node typed', () => {
    for (const [at, node] of walk(schema(), '')) {
      expect(node['x-kubernetes-preserve-unknown-fields'], at).toBeUndefined();
      expect(node['anyOf'], at).toBeUndefined();
      if (at !== '.metadata')
        expect(node['type'] ?? node['x-kubernetes-int-or-string'], at).toBeDefined();
    }
  });

  it('describes every spec field and bounds every list and map', () => {
    const spec = (schema()['properties'] as Node)['spec'];
    for (const [at, node] of walk(spec, 'spec')) {
      if (!at.endsWith('[]') && !at.endsWith('{}')) expect(node['description'], at).toBeTruthy();
      if (node['type'] === 'array') expect(node['maxItems'], at).toBeDefined();
      if (node['additionalProperties']) expect(node['maxProperties'], at).toBeDefined();
    }
  });

  it('bounds every string a CEL rule reads (the API server refuses rules over the cost budget)', () => {
    const spec = (schema()['properties'] as Node)['spec'];
    const ruled = [...walk(spec, 'spec')].filter(([, n]) => n['x-kubernetes-validations']);
    expect(ruled.length).toBeGreaterThan(10);
    for (const [at, node] of ruled) {
      if (node['type'] === 'string' || node['x-kubernetes-int-or-string'])
        expect(node['maxLength'], at).toBeDefined();
    }
  });

  it('has the scale subresource and the printer columns', () => {
    const version = (buildCrd() as { spec: { versions: Node[] } }).spec.versions[0]!;
    expect(version['subresources']).toEqual({
      status: {},
      scale: {
        specReplicasPath: '.spec.replicas',
        statusReplicasPath: '.status.replicas',
        labelSelectorPath: '.status.selector',
      },
    });
    const columns = (version['additionalPrinterColumns'] as { name: string }[]).map((c) => c.name);
    expect(columns).toEqual([
      'Replicas',
      'Ready',
      'Routers',
      'Steps',
      'Offload',
      'Attention',
      'Last Action',
      'Age',
    ]);
  });

  it('writes YAML that Go parsers read the same way (Off stays a string)', () => {
    const text = renderCrdYaml();
    expect(text).toContain('default: "Off"');
    expect(parse(text, { version: '1.1' })).toEqual(buildCrd());
  });
});
