/**
 * ZImageDeployment status. Written only by the operator, through the status subresource.
 * Conditions follow metav1.Condition; the autoscaler's own (MetricsAvailable, ScalingLimited)
 * start as Unknown so clients can tell "not evaluated yet" from "missing".
 */
import { z } from 'zod';
import { attentionBackends, executionProviders, offloadModes } from '../../../contract/runtime.ts';

const time = z.string().max(64).meta({ format: 'date-time' });

export const conditionTypes = [
  'Ready',
  'Progressing',
  'Degraded',
  'MetricsAvailable',
  'ScalingLimited',
] as const;
export type ConditionType = (typeof conditionTypes)[number];

export const condition = z
  .object({
    type: z
      .string()
      .min(1)
      .max(316)
      .describe('Condition type (Ready, Progressing, Degraded, MetricsAvailable, ScalingLimited).'),
    status: z.enum(['True', 'False', 'Unknown']).describe('True, False or Unknown.'),
    observedGeneration: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('metadata.generation the condition was computed for.'),
    lastTransitionTime: time.describe('When status last changed.'),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .describe('CamelCase reason, from one list shared by status, Events and metrics.'),
    message: z.string().max(32768).describe('Human-readable detail.'),
  })
  .strict();
export type Condition = z.infer<typeof condition>;

export const historyEntry = z
  .object({
    time: time.describe('When the action was decided.'),
    rule: z.string().max(63).describe('Rule that fired.'),
    action: z.string().max(64).describe('What was done (scale, offload, attention, steps).'),
    from: z.string().max(64).describe('Value before.'),
    to: z.string().max(64).describe('Value after.'),
    reason: z.string().max(1024).describe('Why, with the signal value.'),
    dryRun: z.boolean().describe('True when recorded in DryRun mode and not applied.'),
  })
  .strict();

export const zimageDeploymentStatus = z
  .object({
    observedGeneration: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Last metadata.generation reconciled.'),
    replicas: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Pods of the current Deployment (scale subresource).'),
    readyReplicas: z.number().int().min(0).optional().describe('Ready pods.'),
    selector: z
      .string()
      .max(1024)
      .optional()
      .describe('Pod label selector, serialized (scale subresource; HPA needs it).'),
    conditions: z
      .array(condition)
      .max(10)
      .optional()
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
      .describe('Ready, Progressing, Degraded, MetricsAvailable, ScalingLimited.'),
    effective: z
      .object({
        replicas: z.number().int().min(0).optional(),
        steps: z.number().int().optional(),
        offload: z.enum(offloadModes).optional(),
        attention: z.enum(attentionBackends).optional(),
        executionProvider: z.enum(executionProviders).optional(),
      })
      .strict()
      .optional()
      .describe('What runs now (spec, plus the autoscaler’s changes).'),
    signals: z
      .object({
        gpuUtilization: z.number().optional(),
        vramUsedBytes: z.number().optional(),
        vramTotalBytes: z.number().optional(),
        latencyP95Seconds: z.number().optional(),
        queueDepth: z.number().optional(),
        sampledAt: time.optional(),
      })
      .strict()
      .optional()
      .describe('Last aggregated signals.'),
    rules: z
      .array(
        z
          .object({
            name: z.string().max(63),
            state: z.enum(['Inactive', 'Pending', 'Firing']),
            since: time.optional(),
          })
          .strict(),
      )
      .max(16)
      .optional()
      .describe('State of each rule.'),
    history: z.array(historyEntry).max(20).optional().describe('Last 20 actions, newest last.'),
    lastAction: z
      .string()
      .max(256)
      .optional()
      .describe('Short form of the newest history entry (printer column).'),
  })
  .strict();

export type ZImageDeploymentStatus = z.infer<typeof zimageDeploymentStatus>;
