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
  /** HPA utilization targets to run (default 50% and 80%: one baseline per target). */
  hpaTargets?: number[];
  /** Which controllers run (default all: the policy, then the baselines). */
  controllers?: readonly ControllerKind[];
  /** What stands in front of the pods (default a Service): with both, each controller twice. */
  routings?: readonly Routing[];
  /** The router's queue bounds, images: one run behind the router per bound (default 64). */
  routerQueues?: readonly number[];
}

/** The operator's policy, and the baselines: an HPA per target, KEDA, Knative's KPA. */
export const controllerKinds = ['policy', 'hpa', 'keda', 'kpa'] as const;
export type ControllerKind = (typeof controllerKinds)[number];

/** Fresh controllers of these kinds, in controllerKinds' order. */
export function controllersFor(
  spec: ZImageDeploymentSpec,
  kinds: readonly ControllerKind[] = controllerKinds,
  hpaTargets: readonly number[] = [50, 80],
): Controller[] {
  const b = spec.autoscaling;
  const of: Record<ControllerKind, () => Controller[]> = {
    policy: () => [policyController(spec)],
    hpa: () =>
      hpaTargets.map((target) =>
        hpa({ ...b, name: `HPA gpu ${target}%`, metric: gpuUtilizationReplicas(target) }),
      ),
    keda: () => [keda(b)],
    kpa: () => [kpa(b)],
  };
  return controllerKinds.filter((k) => kinds.includes(k)).flatMap((k) => of[k]());
}

export function compare(spec: ZImageDeploymentSpec, trace: Trace, o: CompareOptions): Run[] {
  const model = modelOf(spec, o.model);
  const quality = qualityOf(spec);
  const a = spec.autoscaling;
  const replicas = Math.min(a.maxReplicas, Math.max(a.minReplicas, spec.replicas));
  // A controller keeps state (its log, its windows): a fresh one for each run.
  // Behind a Service nothing measures demand: the policy is the one an object without the
  // router runs (its default rules are the utilization and wait ones).
  const unrouted: ZImageDeploymentSpec = { ...spec, router: { ...spec.router, enabled: false } };
  const controllers = (routing: Routing) =>
    controllersFor(routing === 'service' ? unrouted : spec, o.controllers, o.hpaTargets);
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
    controllers(routing).map((c) =>
      simulate(trace, c, { model, quality, replicas, seed: o.seed, routing, keepLatencies: false }),
    ),
  );
  // Controller by controller, each behind every front in turn: the rows to compare sit together.
  return (byFront[0] ?? []).flatMap((_, i) => byFront.map((runs) => runs[i]!));
}
