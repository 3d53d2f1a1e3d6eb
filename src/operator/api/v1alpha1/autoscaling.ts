/** The autoscaling part of the ZImageDeployment spec: bounds, sampling, rules and actions. */
import { z } from 'zod';
import { attentionBackends, offloadModes, stepsRange } from '../../../contract/runtime.ts';
import { defaultRules } from '../../policy/default-rules.ts';
import { cel, durationPattern, durationSeconds, name63 } from './schema-kit.ts';

/** Signals the autoscaler reads; thresholds are validated per signal. */
export const signals = [
  'gpuUtilization',
  'vramUsedRatio',
  'latencyP95Seconds',
  'queueDepth',
] as const;

const thresholdRule = [
  "self.signal != 'gpuUtilization' || (self.threshold >= 0.0 && self.threshold <= 100.0)",
  "self.signal != 'vramUsedRatio' || (self.threshold > 0.0 && self.threshold <= 1.0)",
  "self.signal != 'latencyP95Seconds' || (self.threshold > 0.0 && self.threshold <= 3600.0)",
  "self.signal != 'queueDepth' || (self.threshold >= 0.0 && self.threshold <= 10000.0)",
]
  .map((clause) => `(${clause})`)
  .join(' && ');

const thresholdRange: Record<(typeof signals)[number], [number, number, boolean]> = {
  gpuUtilization: [0, 100, true],
  vramUsedRatio: [0, 1, false],
  latencyP95Seconds: [0, 3600, false],
  queueDepth: [0, 10000, true],
};

function thresholdOk(rule: { signal: (typeof signals)[number]; threshold: number }): boolean {
  const [min, max, inclusiveMin] = thresholdRange[rule.signal];
  return (inclusiveMin ? rule.threshold >= min : rule.threshold > min) && rule.threshold <= max;
}

const actionRule =
  "(self.type == 'Scale') == has(self.scale) && (self.type == 'Offload') == has(self.offload) && " +
  "(self.type == 'Attention') == has(self.attention) && (self.type == 'Steps') == has(self.steps)";

export const action = z
  .object({
    type: z
      .enum(['Scale', 'Offload', 'Attention', 'Steps'])
      .describe('Which of the fields below applies.'),
    scale: z
      .object({
        by: z
          .number()
          .int()
          .min(-100)
          .max(100)
          .optional()
          .describe('Replicas to add (negative: remove).'),
        to: z.number().int().min(0).max(1000).optional().describe('Replicas to set.'),
      })
      .strict()
      .meta(cel({ rule: 'has(self.by) != has(self.to)', message: 'set exactly one of by or to' }))
      .refine((s) => (s.by === undefined) !== (s.to === undefined), 'set exactly one of by or to')
      .optional()
      .describe('Change replicas by a delta or to a number.'),
    offload: z.enum(offloadModes).optional().describe('Switch the offload mode.'),
    attention: z
      .enum(attentionBackends)
      .optional()
      .describe('Switch the attention kernel (rolls the pods).'),
    steps: z
      .object({
        set: z
          .number()
          .int()
          .min(stepsRange.min)
          .max(stepsRange.max)
          .optional()
          .describe('Steps to set (1..50).'),
        by: z
          .number()
          .int()
          .min(-49)
          .max(49)
          .optional()
          .describe('Steps to add (negative: fewer steps, faster, lower quality).'),
      })
      .strict()
      .meta(cel({ rule: 'has(self.set) != has(self.by)', message: 'set exactly one of set or by' }))
      .refine((s) => (s.set === undefined) !== (s.by === undefined), 'set exactly one of set or by')
      .optional()
      .describe('Set the steps, or move them by a delta.'),
  })
  .strict()
  .meta(cel({ rule: actionRule, message: 'the field named by type (and only it) must be set' }))
  .refine(
    (a) =>
      (a.type === 'Scale') === (a.scale !== undefined) &&
      (a.type === 'Offload') === (a.offload !== undefined) &&
      (a.type === 'Attention') === (a.attention !== undefined) &&
      (a.type === 'Steps') === (a.steps !== undefined),
    'the field named by type (and only it) must be set',
  );

export const rule = z
  .object({
    name: name63.describe('Rule name, unique in the list.'),
    signal: z.enum(signals).describe('Signal the rule watches.'),
    operator: z
      .enum(['Above', 'Below'])
      .describe('Fire when the signal is above or below threshold.'),
    threshold: z
      .number()
      .describe(
        'Threshold (percent for gpuUtilization, 0..1 for vramUsedRatio, seconds for latency).',
      ),
    clearThreshold: z
      .number()
      .optional()
      .describe('Hysteresis: the rule clears only past this level. Default: threshold.'),
    for: z
      .string()
      .max(32)
      .regex(durationPattern, 'must be a duration like 5s')
      .default('5s')
      .describe('How long the condition must hold.'),
    cooldown: z
      .string()
      .max(32)
      .regex(durationPattern, 'must be a duration like 30s')
      .default('30s')
      .describe('Minimum time between two actions of this rule.'),
    action: action.describe('What to do when the rule fires.'),
  })
  .strict()
  .meta(
    cel({
      rule: thresholdRule,
      message: 'threshold is out of range for the signal',
      fieldPath: '.threshold',
    }),
  )
  .refine(thresholdOk, {
    message: 'threshold is out of range for the signal',
    path: ['threshold'],
  });

export const autoscalingSpec = z
  .object({
    mode: z
      .enum(['Off', 'DryRun', 'Enforce'])
      .default('Off')
      .describe('Off: spec.replicas rules; DryRun: decide and record only; Enforce: act.'),
    minReplicas: z.number().int().min(0).max(1000).default(1).describe('Lower bound for scaling.'),
    maxReplicas: z.number().int().min(1).max(1000).default(4).describe('Upper bound for scaling.'),
    interval: z
      .string()
      .max(32)
      .regex(durationPattern, 'must be a duration like 1s')
      .default('1s')
      .meta(
        cel({
          rule: "duration(self) >= duration('100ms') && duration(self) <= duration('5m')",
          message: 'must be between 100ms and 5m',
        }),
      )
      .refine(
        (d) => durationSeconds(d) >= 0.1 && durationSeconds(d) <= 300,
        'must be between 100ms and 5m',
      )
      .describe('How often signals are sampled and rules evaluated.'),
    metrics: z
      .object({
        prometheus: z
          .object({
            url: z
              .string()
              .max(2048)
              .regex(/^https?:\/\/\S+$/, 'must be an http(s) URL')
              .describe(
                'Base URL of the Prometheus HTTP API, e.g. http://prometheus.monitoring:9090.',
              ),
          })
          .strict()
          .optional()
          .describe('Prometheus API for longer windows.'),
        direct: z
          .boolean()
          .default(true)
          .describe('Scrape pods and dcgm-exporter directly (1 s windows).'),
      })
      .strict()
      .prefault({})
      .describe('Where signals come from.'),
    rules: z
      .array(rule)
      .max(16)
      .meta(
        cel({
          rule: 'self.all(r, self.exists_one(o, o.name == r.name))',
          message: 'rule names must be unique',
        }),
      )
      .refine(
        (rs) => new Set(rs.map((r) => r.name)).size === rs.length,
        'rule names must be unique',
      )
      .optional()
      .describe(
        `Rules; the defaults (${defaultRules.map((r) => r.name).join(', ')}) apply when omitted.`,
      ),
  })
  .strict()
  .meta(
    cel({
      rule: '!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas',
      message: 'minReplicas must not exceed maxReplicas',
      fieldPath: '.minReplicas',
    }),
  )
  .refine((a) => a.minReplicas <= a.maxReplicas, {
    message: 'minReplicas must not exceed maxReplicas',
    path: ['minReplicas'],
  });

export type Rule = z.infer<typeof rule>;
export type Action = z.infer<typeof action>;
