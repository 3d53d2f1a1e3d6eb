import { describe, expect, it } from 'vitest';
import { rule } from '../../src/operator/api/v1alpha1/autoscaling.ts';
import { rulesOf } from '../../src/operator/api/v1alpha1/autoscaling-spec.ts';
import {
  defaultRoutedRules,
  defaultRules,
  demandRule,
} from '../../src/operator/api/v1alpha1/default-rules.ts';
import { durationSeconds } from '../../src/operator/api/v1alpha1/schema-kit.ts';
import { zimageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import { baseSpec } from '../support/specs.ts';

const row = (name: string) => defaultRules.find((r) => r.name === name)!;

describe('the default rules table', () => {
  it('holds the seed rules and idle, each a valid CRD rule', () => {
    expect(defaultRules.map((r) => r.name)).toEqual([
      'gpu-saturated',
      'vram-pressure',
      'slow-generation',
      'idle',
    ]);
    for (const r of defaultRules) expect(rule.parse(r), r.name).toEqual(r);
  });

  // The seed's thresholds and our windows, spelled here so a changed default fails.
  it.each([
    ['gpu-saturated', 'gpuUtilization', 'Above', 90, '5s', 'Scale'],
    ['vram-pressure', 'vramUsedRatio', 'Above', 14 / 16, '5s', 'Offload'],
    ['slow-generation', 'waitP95Seconds', 'Above', 15, '30s', 'Scale'],
    ['idle', 'gpuUtilization', 'Below', 30, '5m', 'Scale'],
  ])('%s: %s %s %d for %s, action %s', (name, signal, operator, threshold, window, action) => {
    expect(row(name)).toMatchObject({ signal, operator, threshold, for: window });
    expect(row(name).action.type).toBe(action);
  });

  it.each(defaultRules.map((r) => [r.name, r] as const))(
    '%s clears on the far side of its threshold, 10% away (HPA tolerance)',
    (_name, r) => {
      const band = (r.clearThreshold! - r.threshold) / r.threshold;
      expect(band).toBeCloseTo(r.operator === 'Above' ? -0.1 : 0.1, 6);
    },
  );

  it('scales out and never in under load, in under idle; one pod at a time', () => {
    expect(row('gpu-saturated').action.scale).toEqual({ by: 1 });
    expect(row('slow-generation').action.scale).toEqual({ by: 1 });
    expect(row('idle').action.scale).toEqual({ by: -1 });
    // HPA's 300 s scale-down stabilization: scale-in waits at least that long between pods.
    expect(durationSeconds(row('idle').cooldown)).toBeGreaterThanOrEqual(300);
  });

  it('applies when a spec names no rules, and only then: scale to demand with the router', () => {
    const bare = zimageDeploymentSpec.parse(baseSpec());
    expect(bare.router.enabled).toBe(true);
    expect(rulesOf(bare)).toBe(defaultRoutedRules);
    const unrouted = zimageDeploymentSpec.parse({ ...baseSpec(), router: { enabled: false } });
    expect(rulesOf(unrouted)).toBe(defaultRules);
    const own = zimageDeploymentSpec.parse({
      ...baseSpec(),
      autoscaling: { rules: [{ ...row('idle'), name: 'mine' }] },
    });
    expect(rulesOf(own).map((r) => r.name)).toEqual(['mine']);
  });

  it('the routed defaults scale to demand, offload under VRAM pressure, and keep the 15 s line', () => {
    expect(defaultRoutedRules.map((r) => r.name)).toEqual([
      'demand',
      'vram-pressure',
      'slow-generation',
    ]);
    for (const r of defaultRoutedRules) expect(rule.parse(r), r.name).toEqual(r);
    expect(demandRule.action.scale?.toDemand).toEqual({
      drain: '30s',
      stableWindow: '60s',
      panicWindow: '10s',
    });
  });
});
