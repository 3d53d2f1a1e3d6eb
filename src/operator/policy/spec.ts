/**
 * The policy's view of a ZImageDeployment spec: durations as seconds, clear levels filled in,
 * the rules in force (the spec's or the defaults), and what full quality is.
 */
import type { Rule } from '../api/v1alpha1/autoscaling.ts';
import { rulesOf } from '../api/v1alpha1/autoscaling-spec.ts';
import { durationSeconds } from '../api/v1alpha1/schema-kit.ts';
import { maxResolutionOf } from '../api/v1alpha1/runtime-spec.ts';
import type { ZImageDeploymentSpec } from '../api/v1alpha1/spec.ts';
import type { QualitySettings } from '../api/v1alpha1/status.ts';
import type { Size } from '../../contract/size.ts';
import { qualityOf } from './knobs.ts';

export type Mode = ZImageDeploymentSpec['autoscaling']['mode'];

export interface PolicyRule {
  rule: Rule;
  name: string;
  forSeconds: number;
  cooldownSeconds: number;
  /** Where the rule clears once firing: clearThreshold, or threshold without hysteresis. */
  clear: number;
}

export interface PolicySpec {
  mode: Mode;
  minReplicas: number;
  maxReplicas: number;
  rules: PolicyRule[];
  /** The quality the spec asks for: what every override departs from and returns to. */
  base: QualitySettings;
  precision: ZImageDeploymentSpec['model']['precision'];
  /** One GPU's memory, from spec.gpu.memoryGiB (the VRAM ratio's denominator). */
  memoryBytes: number;
  /** The largest image a request may ask for: what a VRAM prediction must assume. */
  maxImage: Size;
}

export function policyRuleOf(rule: Rule): PolicyRule {
  return {
    rule,
    name: rule.name,
    forSeconds: durationSeconds(rule.for),
    cooldownSeconds: durationSeconds(rule.cooldown),
    clear: rule.clearThreshold ?? rule.threshold,
  };
}

/** Worked out once per parsed spec: a tick decides on the same spec object again and again. */
const parsed = new WeakMap<ZImageDeploymentSpec, PolicySpec>();

export function policySpecOf(spec: ZImageDeploymentSpec): PolicySpec {
  let p = parsed.get(spec);
  if (!p) parsed.set(spec, (p = policySpecFrom(spec)));
  return p;
}

function policySpecFrom(spec: ZImageDeploymentSpec): PolicySpec {
  const a = spec.autoscaling;
  return {
    mode: a.mode,
    minReplicas: a.minReplicas,
    maxReplicas: a.maxReplicas,
    rules: rulesOf(spec).map(policyRuleOf),
    base: qualityOf(spec),
    precision: spec.model.precision,
    memoryBytes: spec.gpu.memoryGiB * 2 ** 30,
    maxImage: maxResolutionOf(spec.runtime),
  };
}
