/**
 * `npm run bench -- --only demand-goals`: issue 19's goals in the simulator, every builtin trace
 * on the H100 defaults (deploy/examples/autoscaling-defaults.yaml) and the 16 GB card
 * (autoscaling-16gb.yaml), seed 1. Each controller runs behind a random Service and behind the
 * router; the policy's row is behind the router (its default rules need it). Per trace:
 *
 * - late: images not answered within 15 s (lost included), the policy against the best
 *   replica-only baseline behind a Service (the one with the most images within 15 s), goal
 *   >= 10x fewer, at <= 1.0x its GPU-seconds, with mean passes >= 90% of the spec's;
 * - against the best baseline behind our router (what the policy adds): goal >= 2x fewer;
 * - reversals per 10 minutes (goal <= 1 under constant load).
 *
 * Deterministic: the same rows on any machine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../dev/paths.ts';
import {
  zimageDeploymentSpec,
  type ZImageDeploymentSpec,
} from '../src/operator/api/v1alpha1/spec.ts';
import { passesOf } from '../src/operator/policy/ladder.ts';
import { qualityOf } from '../src/operator/policy/knobs.ts';
import { compare } from '../src/sim/compare.ts';
import { modelOf } from '../src/sim/model.ts';
import type { Run } from '../src/sim/run.ts';
import { builtinTrace, shapes, type ShapeName } from '../src/sim/traces.ts';
import type { Row } from './cluster.ts';

const examples = ['autoscaling-defaults.yaml', 'autoscaling-16gb.yaml'];

const late = (r: Run) => r.results.images - r.results.withinSlo;
const within = (r: Run) => r.results.withinSlo / Math.max(1, r.results.images);
const passes = (r: Run) => r.results.passes / Math.max(1, r.results.served);
const per10 = (r: Run) => (r.results.reversals * 600) / Math.max(1, r.results.seconds);

function best(runs: Run[]): Run {
  return runs.reduce((a, b) => (within(b) > within(a) ? b : a));
}

const ratio = (baseline: number, ours: number) =>
  ours === 0
    ? baseline === 0
      ? 'both 0'
      : `inf (${baseline} vs 0)`
    : `${(baseline / ours).toFixed(2)}x`;

/** A spec from deploy/examples, as the simulator reads it. */
export function exampleSpec(file: string): ZImageDeploymentSpec {
  const doc = parse(fs.readFileSync(path.join(repoRoot, 'deploy/examples', file), 'utf8')) as {
    spec: unknown;
  };
  return zimageDeploymentSpec.parse(doc.spec);
}

export function benchDemandGoals(): Row[] {
  const rows: Row[] = [];
  for (const file of examples) {
    const spec = exampleSpec(file);
    const full = passesOf(qualityOf(spec).steps);
    for (const name of Object.keys(shapes) as ShapeName[]) {
      const trace = builtinTrace(
        name,
        modelOf(spec).card,
        qualityOf(spec),
        spec.model.precision,
        1,
      );
      const runs = compare(spec, trace, { seed: 1, routings: ['service', 'router'] });
      const policy = runs.find((r) => r.controller === 'zimage policy' && r.routing === 'router')!;
      const baselines = runs.filter((r) => r.controller !== 'zimage policy');
      const service = best(baselines.filter((r) => r.routing === 'service'));
      const routed = best(baselines.filter((r) => r.routing === 'router'));
      const gpu = policy.results.gpuSeconds / service.results.gpuSeconds;
      rows.push({
        name: `${file.replace('.yaml', '')} ${name}`,
        value: `late ${late(policy)} vs ${late(service)} (${service.controller}, Service): ${ratio(late(service), late(policy))}`,
        detail: [
          `GPU-s ${Math.round(policy.results.gpuSeconds)} = ${gpu.toFixed(2)}x`,
          `passes ${((100 * passes(policy)) / full).toFixed(0)}% of full`,
          `vs best behind the router (${routed.controller}) ${late(routed)}: ${ratio(late(routed), late(policy))}`,
          `${per10(policy).toFixed(2)} reversals/10 min`,
        ].join('; '),
      });
    }
  }
  return rows;
}
