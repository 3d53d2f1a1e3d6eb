/**
 * Every file in deploy/examples is a valid ZImageDeployment (zod, the CRD's source), the
 * defaults example runs the default rules, and the seed example holds the seed
 * article's three rules.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../../dev/paths.ts';
import { zimageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import { rulesOf } from '../../src/operator/api/v1alpha1/autoscaling-spec.ts';
import { defaultRoutedRules, defaultRules } from '../../src/operator/api/v1alpha1/default-rules.ts';

const dir = path.join(repoRoot, 'deploy', 'examples');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml'));
const read = (file: string) =>
  parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { kind: string; spec: unknown };

describe('deploy/examples', () => {
  it('has the seed rules, our defaults and the minimal example', () => {
    expect(files).toEqual(
      expect.arrayContaining(['turbo.yaml', 'seed-rules.yaml', 'autoscaling-defaults.yaml']),
    );
  });

  it.each(files)('%s is a valid ZImageDeployment', (file) => {
    const doc = read(file);
    expect(doc.kind).toBe('ZImageDeployment');
    const parsed = zimageDeploymentSpec.safeParse(doc.spec);
    expect(parsed.error?.issues ?? []).toEqual([]);
  });

  it('autoscaling-defaults.yaml runs the default rules: demand with its router, utilization without', () => {
    const spec = zimageDeploymentSpec.parse(read('autoscaling-defaults.yaml').spec);
    expect(spec.autoscaling.rules).toBeUndefined();
    expect(spec.router.enabled).toBe(true);
    expect(rulesOf(spec)).toBe(defaultRoutedRules);
    expect(rulesOf({ ...spec, router: { ...spec.router, enabled: false } })).toBe(defaultRules);
  });

  it("seed-rules.yaml holds the seed's three rules", () => {
    const spec = zimageDeploymentSpec.parse(read('seed-rules.yaml').spec);
    const rules = spec.autoscaling.rules!.map((r) => [r.signal, r.operator, r.threshold, r.action]);
    expect(rules).toEqual([
      // VRAM > 14 GB of 16 -> degrade flash to SDPA (the memory-efficient kernel).
      ['vramUsedRatio', 'Above', 14 / 16, { type: 'Attention', attention: 'efficient' }],
      // GPU utilization > 90% for 5 s -> overload: one replica more.
      ['gpuUtilization', 'Above', 90, { type: 'Scale', scale: { by: 1 } }],
      // > 15 s per image (the client's wait) -> steps=16.
      ['waitP95Seconds', 'Above', 15, { type: 'Steps', steps: { set: 16 } }],
    ]);
    expect(spec.autoscaling.rules![1]!.for).toBe('5s');
    expect(spec.gpu.memoryGiB).toBe(16);
  });
});
