/**
 * An autoscaling rule: the signals it may watch with their threshold ranges, its windows and its
 * action. The list and the other fields of spec.autoscaling are in autoscaling-spec.ts.
 */
import { z } from 'zod';
import { attentionBackends, offloadModes, stepsRange } from '../../../contract/runtime.ts';
import { cel, celDouble, durationPattern, name63 } from './schema-kit.ts';
import { ruleSignals, type RuleSignal } from './signals.ts';

/**
 * Threshold range per signal: [min, max, min inclusive]. Utilization is a percentage, VRAM a
 * used/total ratio (0 would fire always), latency at most the longest request deadline (3600 s).
 */
const thresholdRange: Record<RuleSignal, [number, number, boolean]> = {
  gpuUtilization: [0, 100, true],
  vramUsedRatio: [0, 1, false],
  latencyP95Seconds: [0, 3600, false],
  waitP95Seconds: [0, 3600, false],
  queueDepth: [0, 10000, true],
  // The target: the share of the asked replicas' capacity the demand may fill.
  demandUtilization: [0, 100, false],
};

/** One rule per signal and field, so the message says the range that applies. */
const rangeRules = (field: 'threshold' | 'clearThreshold') =>
  ruleSignals.map((signal) => {
    const [min, max, inclusiveMin] = thresholdRange[signal];
    const value = `self.${field}`;
    const lower = `${value} ${inclusiveMin ? '>=' : '>'} ${celDouble(min)}`;
    const guard = field === 'clearThreshold' ? `!has(${value}) || ` : '';
    return {
      rule: `self.signal != '${signal}' || ${guard}(${lower} && ${value} <= ${celDouble(max)})`,
      message: `${field} for ${signal} must be in ${min}..${max}${inclusiveMin ? '' : ` (above ${min})`}`,
      fieldPath: `.${field}`,
    };
  });

/** Hysteresis: an Above rule clears below its threshold, a Below rule above it. */
const clearingSideRule = {
  rule:
    "!has(self.clearThreshold) || (self.operator == 'Above' ? self.clearThreshold <= self.threshold" +
    ' : self.clearThreshold >= self.threshold)',
  message:
    'clearThreshold must be on the clearing side of threshold: at or below it for Above rules, at or above it for Below rules',
  fieldPath: '.clearThreshold',
};

/**
 * Upper bounds of a rule's windows. `for`: an hour at the default 1 s interval is 3600 samples
 * a signal for the decider to hold; longer trends belong to Prometheus recording rules.
 * `cooldown`: a rule silenced for more than an hour could not act again within one incident.
 */
/** demandUtilization is worked out for a toDemand action, and toDemand acts on nothing else. */
const demandRule = {
  rule:
    "(self.signal == 'demandUtilization') == (has(self.action.scale) && has(self.action.scale.toDemand))" +
    " && (self.signal != 'demandUtilization' || self.operator == 'Above')",
  message:
    'a demandUtilization rule is an Above rule with action scale.toDemand, and scale.toDemand needs signal demandUtilization',
  fieldPath: '.signal',
};

const windowLimit = { for: '1h', cooldown: '1h' } as const;
const windowRule = (field: keyof typeof windowLimit) =>
  cel({
    rule: `duration(self) <= duration('${windowLimit[field]}')`,
    message: `must be at most ${windowLimit[field]}`,
  });

/** A duration field of toDemand, with its bounds. */
const demandDuration = (fallback: string, min: string, max: string, what: string) =>
  z
    .string()
    .max(32)
    .regex(durationPattern, `must be a duration like ${fallback}`)
    .default(fallback)
    .meta(
      cel({
        rule: `duration(self) >= duration('${min}') && duration(self) <= duration('${max}')`,
        message: `must be between ${min} and ${max}`,
      }),
    )
    .describe(what);

/**
 * Scale to demand (policy/demand.ts): the pods that serve the work arriving over a window at
 * the rule's threshold (target utilization) and drain the queued work within `drain`. The
 * windows are Knative KPA's: a stable one that scale-in follows, and a short panic one that
 * scale-out jumps on when it asks for twice the Ready pods. Defaults: docs/autoscaling.md.
 */
export const toDemand = z
  .object({
    drain: demandDuration('30s', '1s', '10m', 'Queued work is drained within this.'),
    stableWindow: demandDuration('60s', '6s', '10m', 'Window the demand is averaged over.'),
    panicWindow: demandDuration(
      '10s',
      '1s',
      '1m',
      'Short window: when it asks for twice the Ready pods, scale out to it at once.',
    ),
  })
  .strict()
  .meta(
    cel({
      rule: 'duration(self.panicWindow) < duration(self.stableWindow)',
      message: 'panicWindow must be shorter than stableWindow',
      fieldPath: '.panicWindow',
    }),
  );

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
        toDemand: toDemand
          .optional()
          .describe(
            "Set replicas to what the demand needs at the rule's threshold (a demandUtilization rule): out in one step, in one pod per cooldown.",
          ),
      })
      .strict()
      .meta(
        cel({
          rule: '(has(self.by) ? 1 : 0) + (has(self.to) ? 1 : 0) + (has(self.toDemand) ? 1 : 0) == 1',
          message: 'set exactly one of by, to or toDemand',
        }),
      )
      .optional()
      .describe('Change replicas by a delta, to a number, or to the demand.'),
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
      .optional()
      .describe('Set the steps, or move them by a delta.'),
  })
  .strict()
  .meta(cel({ rule: actionRule, message: 'the field named by type (and only it) must be set' }));

export const rule = z
  .object({
    name: name63.describe('Rule name, unique in the list.'),
    signal: z.enum(ruleSignals).describe('Signal the rule watches.'),
    operator: z
      .enum(['Above', 'Below'])
      .describe('Fire when the signal is above or below threshold.'),
    threshold: z
      .number()
      .describe(
        'Threshold (percent for gpuUtilization and demandUtilization, 0..1 for vramUsedRatio, seconds for latency).',
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
      .meta(windowRule('for'))
      .describe('How long the condition must hold.'),
    cooldown: z
      .string()
      .max(32)
      .regex(durationPattern, 'must be a duration like 30s')
      .default('30s')
      .meta(windowRule('cooldown'))
      .describe('Minimum time between two actions of this rule.'),
    action: action.describe('What to do when the rule fires.'),
  })
  .strict()
  .meta(
    cel(...rangeRules('threshold'), ...rangeRules('clearThreshold'), clearingSideRule, demandRule),
  );

export type Rule = z.infer<typeof rule>;
export type Action = z.infer<typeof action>;
