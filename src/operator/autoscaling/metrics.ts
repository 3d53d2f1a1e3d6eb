/**
 * The autoscaler's operator metrics (prefix zimage_operator_autoscaler_): what it decided, how
 * fast it reacted, what runs. The signals themselves are zimage_operator_signal_* (per source,
 * signals/metrics.ts). Cardinality: a few series per ZImageDeployment and rule.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { seriesLabels } from '../../contract/metrics.ts';

const objectLabels = ['namespace', seriesLabels.deployment] as const;

export function createAutoscalerMetrics(registry: Registry) {
  const registers = [registry];
  return {
    decisions: new Counter({
      name: 'zimage_operator_autoscaler_actions_total',
      help: 'Actions decided, by object, rule, knob (replicas, steps, offload, attention), reason and whether applied (Enforce) or only recorded (DryRun).',
      labelNames: [...objectLabels, 'rule', 'knob', 'reason', 'dry_run'] as const,
      registers,
    }),
    evaluations: new Counter({
      name: 'zimage_operator_autoscaler_decisions_total',
      help: 'Decisions made (one per object and interval), by mode.',
      labelNames: ['mode'] as const,
      registers,
    }),
    reaction: new Histogram({
      name: 'zimage_operator_autoscaler_reaction_seconds',
      help: 'From breach onset (the first breaching sample) to the action applied to the cluster.',
      labelNames: ['rule', 'knob'] as const,
      buckets: [0.5, 1, 2, 3, 4, 5, 6, 7, 8, 10, 15, 20, 30, 60, 120, 300],
      registers,
    }),
    decideSeconds: new Histogram({
      name: 'zimage_operator_autoscaler_decide_seconds',
      help: 'Time of one decide() call (the pure policy), per object.',
      buckets: [1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05],
      registers,
    }),
    tickObjects: new Gauge({
      name: 'zimage_operator_autoscaler_objects',
      help: 'Objects in DryRun or Enforce in the last tick.',
      registers,
    }),
    replicas: new Gauge({
      name: 'zimage_operator_autoscaler_replicas',
      help: 'Replicas the autoscaler wants (Enforce), per object.',
      labelNames: objectLabels,
      registers,
    }),
    steps: new Gauge({
      name: 'zimage_operator_autoscaler_steps',
      help: 'Diffusion steps that run, per object (spec, or the autoscaler’s override).',
      labelNames: objectLabels,
      registers,
    }),
    qualityLevel: new Gauge({
      name: 'zimage_operator_autoscaler_quality_level',
      help: 'Quality notches below the spec (0: full quality), per object.',
      labelNames: objectLabels,
      registers,
    }),
    metricsAvailable: new Gauge({
      name: 'zimage_operator_autoscaler_metrics_available',
      help: '1 while every signal the rules read has a value, 0 while the autoscaler holds.',
      labelNames: objectLabels,
      registers,
    }),
  };
}

export type AutoscalerMetrics = ReturnType<typeof createAutoscalerMetrics>;
