import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../../dev/paths.ts';
import { zimageDeploymentName } from '../../src/operator/api/v1alpha1/object-name.ts';
import { zimageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import { describeIssues, fieldPath } from '../../src/operator/reconcile.ts';
import { invalidSpecs, validSpecs, type ValidCase } from '../support/specs.ts';

/** zod's verdict on a row, in the API server's terms: 'accepted' or "field: message; ...". */
function zodVerdict(c: ValidCase): string {
  const spec = zimageDeploymentSpec.safeParse(c.spec());
  const name = zimageDeploymentName.safeParse({ metadata: { name: c.objectName ?? 'zid' } });
  const problems = [
    ...(spec.error ? [describeIssues(spec.error)] : []),
    ...(name.error?.issues.map((i) => `${fieldPath(i.path)}: ${i.message}`) ?? []),
  ];
  return problems.length ? problems.join('; ') : 'accepted';
}

describe('ZImageDeployment spec (zod side of the shared table)', () => {
  it('has at least 50 invalid rows', () => {
    expect(invalidSpecs.length).toBeGreaterThanOrEqual(50);
  });

  it.each(invalidSpecs.map((c) => [c.name, c] as const))(
    'rejects %s, naming the field',
    (_name, c) => {
      const verdict = zodVerdict(c);
      expect(verdict).not.toBe('accepted');
      expect(verdict).toContain(c.field);
      if (c.message) expect(verdict).toContain(c.message);
    },
  );

  it.each(validSpecs.map((c) => [c.name, c] as const))('accepts %s', (_name, c) => {
    expect(zodVerdict(c)).toBe('accepted');
  });

  // Only the ZImageDeployment files: deploy/examples/traces/ holds the simulator's CSV traces.
  const examples = fs
    .readdirSync(path.join(repoRoot, 'deploy', 'examples'))
    .filter((f) => f.endsWith('.yaml'));
  it.each(examples)('accepts the shipped example %s', (file) => {
    const obj = parse(fs.readFileSync(path.join(repoRoot, 'deploy', 'examples', file), 'utf8')) as {
      metadata: { name: string };
      spec: unknown;
    };
    expect(zodVerdict({ name: file, objectName: obj.metadata.name, spec: () => obj.spec })).toBe(
      'accepted',
    );
  });

  it('fills the documented defaults', () => {
    const spec = zimageDeploymentSpec.parse(validSpecs[0]!.spec());
    expect(spec.replicas).toBe(1);
    expect(spec.runtime).toMatchObject({
      steps: 9,
      offload: 'none',
      attention: 'cudnn',
      executionProvider: 'cuda',
      maxResolution: '1024x1024',
      maxQueue: 8,
      requestTimeoutSeconds: 120,
    });
    expect(spec.gpu).toMatchObject({ count: 1, resource: 'nvidia.com/gpu' });
    expect(spec.autoscaling).toMatchObject({
      mode: 'Off',
      minReplicas: 1,
      maxReplicas: 4,
      interval: '1s',
      metrics: { direct: true },
    });
  });
});
