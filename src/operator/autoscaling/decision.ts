/**
 * The autoscaler inside the reconcile: what runs (spec plus the autoscaler's overrides), one
 * decision on a fresh sample, and what of it goes to status, Events and metrics. Pure: the
 * reconciler does the writes.
 *
 * Where each knob reaches the cluster (the reconciler stays the only writer):
 *  - replicas: the Deployment at once, and spec.replicas through the scale subresource after
 *    status holds the decision (so `kubectl get zid` and HPA-style tools see the target);
 *  - steps and offload: the runtime ConfigMap, which the pods reload live (no restart);
 *  - attention: the pod template's env (a rolling update).
 */
import type { CachedPod } from '../k8s/cached.ts';
import type { ZImageDeploymentSpec } from '../api/v1alpha1/spec.ts';
import type { AutoscalerState, ZImageDeploymentStatus } from '../api/v1alpha1/status.ts';
import type { Effective, ZImageDeployment } from '../api/v1alpha1/types.ts';
import { durationSeconds } from '../api/v1alpha1/schema-kit.ts';
import type { ConditionInput } from '../conditions.ts';
import { decide, type Decision } from '../policy/decide.ts';
import { qualityOf, sameQuality } from '../policy/knobs.ts';
import { policyActors, shortForm, type Action } from '../policy/outcome.ts';
import { valueOf, type Signals } from '../policy/signals.ts';
import { isoSeconds } from '../policy/time.ts';
import { allMissing } from '../signals/sample.ts';
import { policySignals, type Sampled } from './signals.ts';

const specEffective = (spec: ZImageDeploymentSpec): Effective => ({
  replicas: spec.replicas,
  ...qualityOf(spec),
  executionProvider: spec.runtime.executionProvider,
});

/**
 * What runs when this reconcile decided nothing: the spec, or in Enforce mode what the
 * autoscaler decided last (`state`, from status). Status may predate an edit of the spec, so
 * bounds apply again, and overrides taken on another spec (the user edited steps, offload or
 * attention since) do not apply: the next decision starts over.
 */
export function effectiveOf(cr: ZImageDeployment, state?: AutoscalerState): Effective {
  const { spec } = cr;
  const fromSpec = specEffective(spec);
  if (spec.autoscaling.mode !== 'Enforce' || state?.mode !== 'Enforce') return fromSpec;
  const { minReplicas, maxReplicas } = spec.autoscaling;
  const replicas = Math.min(maxReplicas, Math.max(minReplicas, state.replicas ?? spec.replicas));
  const base = qualityOf(spec);
  return { ...fromSpec, replicas, ...(sameQuality(state.base, base) ? state.effective : base) };
}

/**
 * What a decision on this very spec makes run. decide() already kept replicas within bounds
 * and started over on a changed spec; replicas are set only in Enforce (Off and DryRun run the
 * spec's), and `effective` is the spec's quality outside Enforce.
 */
function decidedEffective(spec: ZImageDeploymentSpec, state: AutoscalerState): Effective {
  const replicas = state.replicas ?? spec.replicas;
  return { ...specEffective(spec), replicas, ...state.effective };
}

export interface DecisionInput {
  cr: ZImageDeployment;
  pods: readonly CachedPod[];
  /** The loop's sample for this object; undefined in Off mode (nothing is sampled). */
  sampled: Sampled | undefined;
  now: number;
  /**
   * spec.replicas as the autoscaler last set it, when that scale write failed and nobody has
   * changed the spec since: read as what it is (ours, not yet landed), not as a `kubectl scale`.
   */
  unwrittenReplicas?: number | undefined;
}

export interface AutoscalerOutcome {
  decision: Decision;
  /** What runs after this decision: replicas and quality for the children. */
  effective: Effective;
  signals: Signals;
  /** status.signals: the readings that have a value, for `kubectl get -o yaml` and the demo. */
  summary: NonNullable<ZImageDeploymentStatus['signals']>;
}

/** Off mode reads no signals; decide() returns before looking at them. */
function offSignals(replicas: number): Signals {
  const none = allMissing('NotConfigured', 'spec.autoscaling.mode is Off');
  return { ...none, pendingPods: none.queueDepth, fleet: { replicas, readyReplicas: 0 } };
}

/** decide() on the sample; Off mode decides too (no signals read) to drop overrides and say so. */
export function decideOn(input: DecisionInput): AutoscalerOutcome {
  const { cr, pods, sampled, now } = input;
  const spec = cr.spec;
  const replicas = input.unwrittenReplicas ?? spec.replicas;
  const signals: Signals = sampled
    ? policySignals(sampled, {
        replicas,
        pods,
        gpuResource: spec.gpu.resource,
        now,
        intervalSeconds: durationSeconds(spec.autoscaling.interval),
      })
    : offSignals(replicas);
  const decision = decide(signals, cr.status?.autoscaler, spec, now);
  const effective = decidedEffective(spec, decision.state);
  return { decision, effective, signals, summary: summaryOf(signals, sampled?.at ?? now) };
}

function summaryOf(s: Signals, at: number): NonNullable<ZImageDeploymentStatus['signals']> {
  const out: NonNullable<ZImageDeploymentStatus['signals']> = {
    sampledAt: isoSeconds(at),
  };
  const put = (k: keyof typeof out, v: number | undefined) => {
    if (v !== undefined) Object.assign(out, { [k]: Math.round(v * 1000) / 1000 });
  };
  put('gpuUtilization', valueOf(s.gpuUtilization));
  put('vramUsedRatio', valueOf(s.vramUsedRatio));
  put('vramUsedBytes', valueOf(s.vramUsedBytes));
  put('latencyP95Seconds', valueOf(s.latencyP95Seconds));
  put('waitP95Seconds', valueOf(s.waitP95Seconds));
  put('routerQueuedImages', valueOf(s.routerQueuedImages));
  put('routerQueuedWorkSeconds', valueOf(s.routerQueuedWorkSeconds));
  put('arrivedImagesPerSecond', valueOf(s.arrivedImagesPerSecond));
  put('arrivedWorkPerSecond', valueOf(s.arrivedWorkPerSecond));
  put('burstWorkPerSecond', valueOf(s.burstWorkPerSecond));
  put('queueDepth', valueOf(s.queueDepth));
  put('inflight', valueOf(s.inflight));
  put('pendingPods', valueOf(s.pendingPods));
  return out;
}

/** One Event per action: "scale 2 -> 3 by gpu-saturated: gpuUtilization 95 > 90 for 5s". */
export function actionEvent(a: Action, dryRun: boolean): { reason: string; message: string } {
  const by = a.rule.startsWith('policy:') ? `the policy (${a.rule.slice(7)})` : `rule ${a.rule}`;
  const what = `${dryRun ? 'DryRun, not applied: would ' : ''}${shortForm(a)} by ${by}`;
  return { reason: a.reason, message: `${what}: ${a.message}` };
}

/**
 * Breach onset of the rule behind an action: when it went Pending (the first breaching
 * sample), from the state before the decision. Undefined for the policy's own actors and for
 * a rule that acted again after its cooldown (no new onset).
 */
export function onsetOf(a: Action, before: AutoscalerState | undefined): number | undefined {
  if (Object.values(policyActors).includes(a.rule as never)) return undefined;
  const prev = before?.rules.find((r) => r.name === a.rule);
  if (prev?.state !== 'Pending' || !prev.since) return undefined;
  return Date.parse(prev.since);
}

/** Autoscaler conditions that turned (status or reason) since the last status: Event-worthy. */
export function turnedConditions(
  next: readonly ConditionInput[],
  previous: ZImageDeploymentStatus | undefined,
): ConditionInput[] {
  return next.filter((c) => {
    const old = previous?.conditions?.find((p) => p.type === c.type);
    return !old || old.status !== c.status || old.reason !== c.reason;
  });
}
