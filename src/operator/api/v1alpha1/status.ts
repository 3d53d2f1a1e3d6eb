/**
 * ZImageDeployment status. Written only by the operator, through the status subresource.
 * Conditions follow metav1.Condition; the autoscaler's own (MetricsAvailable, ScalingLimited)
 * start as Unknown so clients can tell "not evaluated yet" from "missing".
 */
import { z } from 'zod';
import {
  attentionBackends,
  executionProviders,
  offloadModes,
  stepsRange,
} from '../../../contract/runtime.ts';

/** The most quality notches status holds; the policy holds a notch past it. */
export const ladderLimit = 64;
const time = z.string().max(64).meta({ format: 'date-time' });

export const conditionTypes = [
  'Ready',
  'Progressing',
  'Degraded',
  'MetricsAvailable',
  'ScalingLimited',
  'SamplingSufficient',
  'RouterReady',
] as const;
export type ConditionType = (typeof conditionTypes)[number];

export const condition = z
  .object({
    type: z
      .string()
      .min(1)
      .max(316)
      .describe(
        'Condition type (Ready, Progressing, Degraded, MetricsAvailable, ScalingLimited, SamplingSufficient, RouterReady).',
      ),
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

/**
 * A condition as computed, before setCondition (conditions.ts) stamps its generation and
 * transition time. `R`: the reasons its writer may give (the policy gives only its own).
 */
export interface ConditionInput<R extends string = string> {
  type: ConditionType;
  status: Condition['status'];
  reason: R;
  message: string;
}

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

/** The quality knobs the autoscaler may override, as they run. */
export const qualitySettings = z
  .object({
    steps: z.number().int().min(stepsRange.min).max(stepsRange.max).describe('Diffusion steps.'),
    offload: z.enum(offloadModes).describe('Offload mode.'),
    attention: z.enum(attentionBackends).describe('Attention kernel.'),
  })
  .strict();

/**
 * The autoscaler's memory, kept in status so that an operator restart or a failover neither
 * resets a window nor reverts an action: decide() reads it back from here (policy/decide.ts).
 */
export const autoscalerState = z
  .object({
    mode: z.enum(['Off', 'DryRun', 'Enforce']).describe('Mode of the last decision.'),
    replicas: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        'Replicas the autoscaler last set (Enforce); a different spec.replicas is a manual change.',
      ),
    lastScaleTime: time.optional().describe('When replicas last changed by the autoscaler.'),
    rules: z
      .array(
        z
          .object({
            name: z.string().max(63).describe('Rule name.'),
            state: z
              .enum(['Inactive', 'Pending', 'Firing'])
              .describe('Inactive, Pending or Firing.'),
            since: time
              .optional()
              .describe('When the rule entered this state (Pending: breach onset).'),
            lastActionTime: time
              .optional()
              .describe('When the rule last acted (its cooldown counts from here).'),
            lastAction: z
              .string()
              .max(128)
              .optional()
              .describe('What it did then, e.g. scale 2 -> 3.'),
            burstSince: time
              .optional()
              .describe(
                'A toDemand rule: since when the panic window has asked for twice the Ready pods (panic once it holds a fifth of the window).',
              ),
            fewerPodsSince: time
              .optional()
              .describe(
                'A toDemand rule: since when the demand has fit in fewer pods (scale-in waits a stable window of it).',
              ),
          })
          .strict(),
      )
      .max(16)
      .describe('Each rule of the spec, in spec order.'),
    base: qualitySettings.describe('The spec values the overrides depart from.'),
    effective: qualitySettings.describe('What the autoscaler makes run now (spec + overrides).'),
    ladder: z
      .array(
        z
          .object({
            rule: z.string().max(63).describe('Rule that took the notch.'),
            time: time.describe('When.'),
            cooldownSeconds: z
              .number()
              .min(0)
              .max(86400)
              .describe('The earliest restore comes this long after the last quality change.'),
            before: qualitySettings.describe(
              'Settings before the notch: what a restore returns to.',
            ),
            readyReplicas: z
              .number()
              .int()
              .min(0)
              .max(1000)
              .optional()
              .describe(
                'A toDemand rule: the Ready pods when it took the notch (it comes back as pods turn Ready).',
              ),
          })
          .strict(),
      )
      .max(ladderLimit)
      .describe('Quality notches taken, oldest first; restored newest first.'),
    qualityLevel: z
      .number()
      .int()
      .min(0)
      .describe('Notches below the spec (the ladder length): 0 is full quality.'),
    lastQualityChangeTime: time.optional().describe('When quality last moved, down or up.'),
    signalsSince: time
      .optional()
      .describe(
        'Since when every signal the rules read has had a value (absent while one is out): a window with no data is not calm.',
      ),
    history: z.array(historyEntry).max(20).describe('Last 20 decisions, newest last.'),
  })
  .strict();
export type AutoscalerState = z.infer<typeof autoscalerState>;
export type QualitySettings = z.infer<typeof qualitySettings>;

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
      .describe('Ready, Progressing, Degraded, MetricsAvailable, ScalingLimited, RouterReady.'),
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
        gpuUtilization: z
          .number()
          .optional()
          .describe('Mean GPU utilization of the Ready pods, %.'),
        vramUsedRatio: z.number().optional().describe('Fullest card: used / total memory.'),
        vramUsedBytes: z.number().optional().describe('Fullest card: used memory, bytes.'),
        latencyP95Seconds: z.number().optional().describe('p95 engine seconds per image.'),
        waitP95Seconds: z
          .number()
          .optional()
          .describe("p95 of the clients' wait per image (queue + generation), seconds."),
        routerQueuedImages: z.number().optional().describe('Images waiting in the routers.'),
        routerQueuedWorkSeconds: z
          .number()
          .optional()
          .describe('Expected engine seconds of the images waiting in the routers.'),
        arrivedImagesPerSecond: z
          .number()
          .optional()
          .describe('Images asked of the routers per second.'),
        arrivedWorkPerSecond: z
          .number()
          .optional()
          .describe(
            "Engine seconds asked of the routers per second at the spec's steps (GPUs the demand keeps busy), over the demand rule's stable window.",
          ),
        burstWorkPerSecond: z.number().optional().describe('The same over its panic window.'),
        queueDepth: z.number().optional().describe('Requests queued, all pods.'),
        inflight: z.number().optional().describe('Requests generating, all pods.'),
        pendingPods: z.number().optional().describe('Pods Pending for lack of GPUs.'),
        sampledAt: time.optional().describe('When the signals were sampled.'),
      })
      .strict()
      .optional()
      .describe(
        'Signals of the last decision; a missing one is absent here and named in MetricsAvailable.',
      ),
    router: z
      .object({
        replicas: z.number().int().min(0).describe('Routers the spec asks for.'),
        availableReplicas: z.number().int().min(0).describe('Routers available.'),
        ready: z.string().max(32).describe('Available / asked for, e.g. 2/2 (printer column).'),
      })
      .strict()
      .optional()
      .describe('The routers in front of the pods, while spec.router.enabled.'),
    lastAction: z
      .string()
      .max(256)
      .optional()
      .describe('Short form of the newest history entry (printer column).'),
    autoscaler: autoscalerState
      .optional()
      .describe('The autoscaler policy state (rules, overrides, quality ladder, history).'),
  })
  .strict();

export type ZImageDeploymentStatus = z.infer<typeof zimageDeploymentStatus>;
