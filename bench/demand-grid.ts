/**
 * `npm run bench -- --only demand-grid`: the simulator runs that chose the demand rule's
 * defaults (docs/autoscaler.md, "Why these defaults"). deploy/examples/autoscaling-defaults.yaml
 * behind the router, seed 1, on four builtin traces; one knob of the default rule moved at a
 * time (panic window, drain horizon, stable window, target), the others at their defaults.
 * Deterministic: the same rows on any machine.
 */
import type { Rule } from '../src/operator/api/v1alpha1/autoscaling.ts';
import { defaultRoutedRules, demandRule } from '../src/operator/api/v1alpha1/default-rules.ts';
import { zimageDeploymentSpec } from '../src/operator/api/v1alpha1/spec.ts';
import { qualityOf } from '../src/operator/policy/knobs.ts';
import { compare } from '../src/sim/compare.ts';
import { modelOf } from '../src/sim/model.ts';
import { rowOf } from '../src/sim/report.ts';
import { builtinTrace, type ShapeName } from '../src/sim/traces.ts';
import type { Row } from './cluster.ts';
import { exampleSpec } from './demand-goals.ts';

const traces: ShapeName[] = ['bursty', 'daily-ramp', 'constant', 'multi-image'];

type Knobs = { drain: string; stableWindow: string; panicWindow: string; target: number };
const defaults: Knobs = {
  ...demandRule.action.scale!.toDemand!,
  target: demandRule.threshold,
};

const variants: [string, Partial<Knobs>][] = [
  ['defaults', {}],
  ['panic 6s', { panicWindow: '6s' }],
  ['panic 15s', { panicWindow: '15s' }],
  ['drain 10s', { drain: '10s' }],
  ['drain 60s', { drain: '60s' }],
  ['stable 30s', { stableWindow: '30s' }],
  ['stable 120s', { stableWindow: '120s' }],
  ['target 70%', { target: 70 }],
  ['target 90%', { target: 90 }],
];

function rulesWith(k: Knobs): Rule[] {
  const { target, ...toDemand } = k;
  const demand: Rule = {
    ...demandRule,
    threshold: target,
    clearThreshold: Math.round(target * 0.9 * 100) / 100,
    action: { type: 'Scale', scale: { toDemand } },
  };
  return [demand, ...defaultRoutedRules.filter((r) => r.name !== demandRule.name)];
}

export function benchDemandGrid(): Row[] {
  const base = exampleSpec('autoscaling-defaults.yaml');
  const rows: Row[] = [];
  for (const [name, change] of variants) {
    const autoscaling = { ...base.autoscaling, rules: rulesWith({ ...defaults, ...change }) };
    const spec = zimageDeploymentSpec.parse({ ...base, autoscaling });
    const cells = traces.map((t) => {
      const trace = builtinTrace(t, modelOf(spec).card, qualityOf(spec), spec.model.precision, 1);
      const [run] = compare(spec, trace, {
        seed: 1,
        controllers: ['policy'],
        routings: ['router'],
      });
      const r = rowOf(run!);
      const late = run!.results.images - run!.results.withinSlo;
      const rev = r.reversalsPer10Min.toFixed(2);
      return `${t}: ${late} late, ${Math.round(r.gpuSeconds)} GPU-s, ${r.passes.toFixed(2)} passes, ${rev} rev/10 min`;
    });
    rows.push({
      name: `demand rule, ${name}`,
      value: cells[0]!,
      detail: cells.slice(1).join('; '),
    });
  }
  return rows;
}
