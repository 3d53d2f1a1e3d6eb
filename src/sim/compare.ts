/**
 * The comparison the simulator prints: the policy of a ZImageDeployment against replica-only
 * baselines with the anchors' defaults, on one trace, one seed; behind a Service, the router,
 * or each controller behind both in turn.
 */
import type { ZImageDeploymentSpec } from '../operator/api/v1alpha1/spec.ts';
import { qualityOf } from '../operator/policy/knobs.ts';
import type { Controller } from './controllers/controller.ts';
import { gpuUtilizationReplicas, hpa } from './controllers/hpa.ts';
import { keda } from './controllers/keda.ts';
import { kpa } from './controllers/kpa.ts';
import { policyController } from './controllers/policy.ts';
import { modelOf, type SimModel } from './model.ts';
import type { Trace } from './packed-trace.ts';
import { simulate, type Routing, type Run } from './run.ts';

export interface CompareOptions {
  seed: number;
  /** GPUs the cluster has (default maxReplicas); pod start-up (default from the card). */
  model?: Partial<Pick<SimModel, 'gpus' | 'startupSeconds'>>;
  /** HPA utilization targets to run (default 80%: one baseline per target). */
  hpaTargets?: number[];
  /** The policy alone, no baselines (default false). */
  policyOnly?: boolean;
  /** What stands in front of the pods (default a Service): with both, each controller twice. */
  routings?: readonly Routing[];
  /** The router's queue bounds, images: one run behind the router per bound (default 64). */
  routerQueues?: readonly number[];
}

export function baselines(spec: ZImageDeploymentSpec, hpaTargets: number[]): Controller[] {
  const b = spec.autoscaling;
  return [
    ...hpaTargets.map((target) =>
      hpa({ ...b, name: `HPA gpu ${target}%`, metric: gpuUtilizationReplicas(target) }),
    ),
    keda(b),
    kpa(b),
  ];
}

export function compare(spec: ZImageDeploymentSpec, trace: Trace, o: CompareOptions): Run[] {
  const model = modelOf(spec, o.model);
  const quality = qualityOf(spec);
  const a = spec.autoscaling;
  const replicas = Math.min(a.maxReplicas, Math.max(a.minReplicas, spec.replicas));
  // A controller keeps state (its log, its windows): a fresh one for each run.
  const controllers = () => [
    policyController(spec),
    ...(o.policyOnly ? [] : baselines(spec, o.hpaTargets ?? [80])),
  ];
  const fronts = (o.routings ?? ['service']).flatMap(
    (routing): { routing: Routing; model: SimModel }[] =>
      routing === 'router'
        ? (o.routerQueues ?? [model.routerMaxQueue]).map((routerMaxQueue) => ({
            routing,
            model: { ...model, routerMaxQueue },
          }))
        : [{ routing, model }],
  );
  const byFront = fronts.map(({ routing, model }) =>
    controllers().map((c) =>
      simulate(trace, c, { model, quality, replicas, seed: o.seed, routing }),
    ),
  );
  // Controller by controller, each behind every front in turn: the rows to compare sit together.
  return (byFront[0] ?? []).flatMap((_, i) => byFront.map((runs) => runs[i]!));
}
