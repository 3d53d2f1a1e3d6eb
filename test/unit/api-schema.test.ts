import { describe, expect, it } from 'vitest';
import { zimageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import { describeIssues } from '../../src/operator/reconcile.ts';
import { invalidSpecs, validSpecs } from '../support/specs.ts';

describe('ZImageDeployment spec (zod side of the shared table)', () => {
  it('has at least 15 invalid rows', () => {
    expect(invalidSpecs.length).toBeGreaterThanOrEqual(15);
  });

  it.each(invalidSpecs.map((c) => [c.name, c] as const))(
    'rejects %s, naming the field',
    (_name, c) => {
      const result = zimageDeploymentSpec.safeParse(c.spec());
      expect(result.success).toBe(false);
      expect(describeIssues(result.error!)).toContain(c.field);
    },
  );

  it.each(validSpecs.map((c) => [c.name, c] as const))('accepts %s', (_name, c) => {
    const result = zimageDeploymentSpec.safeParse(c.spec());
    expect(result.error?.issues).toBeUndefined();
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
