/**
 * The autoscaling part of the ZImageDeployment spec: bounds, sampling, sources and rules. Here,
 * where the rule schema (autoscaling.ts) and the default rows (default-rules.ts) meet: the rules
 * field names the defaults, and rulesOf applies them.
 */
import { z } from 'zod';
import { rule, type Rule } from './autoscaling.ts';
import { defaultRoutedRules, defaultRules } from './default-rules.ts';
import { cel, durationPattern } from './schema-kit.ts';

export const autoscalingSpec = z
  .object({
    mode: z
      .enum(['Off', 'DryRun', 'Enforce'])
      .default('Off')
      .describe('Off: spec.replicas rules; DryRun: decide and record only; Enforce: act.'),
    minReplicas: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(1)
      .describe(
        'Lower bound for scaling. 0 lets the autoscaler scale to zero (needs the router): the routers hold requests while no pod runs, and the first arrival asks for a pod.',
      ),
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
        cel(
          {
            rule: 'self.all(r, self.exists_one(o, o.name == r.name))',
            message: 'rule names must be unique',
          },
          {
            rule: "self.filter(r, r.signal == 'demandUtilization').size() <= 1",
            message: 'at most one rule may scale to demand (signal demandUtilization)',
          },
        ),
      )
      .optional()
      .describe(
        `Rules; when omitted, the defaults apply: with the router ${defaultRoutedRules.map((r) => r.name).join(', ')}; without it ${defaultRules.map((r) => r.name).join(', ')}.`,
      ),
  })
  .strict()
  .meta(
    cel({
      rule: '!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas',
      message: 'minReplicas must not exceed maxReplicas',
      fieldPath: '.minReplicas',
    }),
  );

export type AutoscalingSpec = z.infer<typeof autoscalingSpec>;

/**
 * The rules a ZImageDeployment runs: its own, or the defaults when it names none: scaling to
 * the demand the routers measure, or without routers the utilization and wait rules.
 */
export function rulesOf(spec: {
  autoscaling: AutoscalingSpec;
  router: { enabled: boolean };
}): readonly Rule[] {
  return spec.autoscaling.rules ?? (spec.router.enabled ? defaultRoutedRules : defaultRules);
}
