/**
 * The rules that apply when spec.autoscaling.rules is omitted: one table, read by the policy
 * (what the operator does) and rendered by builders/monitoring.ts into the PrometheusRule (what
 * the SRE's alerting sees). Rows have the CRD's rule shape, so a user can copy one into a spec.
 *
 * Thresholds are the seed's (deploy/examples/seed-rules.yaml has its three rules verbatim), and so
 * is gpu-saturated's 5 s window; the other windows, hysteresis and cooldowns are ours, each with
 * its reason. Every rule clears 10% past its threshold on the clearing side, Kubernetes HPA's
 * default tolerance of 0.1: a signal wobbling around the threshold cannot flap a rule. What a row
 * cannot say lives in the policy: at maxReplicas the latency rule walks the quality ladder (steps
 * down to a floor of 4, then offload), offload climbs past `model` to `cpu`, and idle restores
 * quality before it removes a pod.
 */
import type { Rule } from './autoscaling.ts';

export const defaultRules: readonly Rule[] = [
  {
    name: 'gpu-saturated',
    signal: 'gpuUtilization',
    operator: 'Above',
    // Seed: "overload alert" at GPU utilization > 90% for 5 s.
    threshold: 90,
    clearThreshold: 81, // 90 x 0.9
    for: '5s',
    // One pod per 30 s, slower than HPA's +4 pods per 15 s: each pod takes a GPU and loads
    // ~21 GB for ~105 s before it serves (docs/operator.md); the quality ladder bridges that.
    cooldown: '30s',
    action: { type: 'Scale', scale: { by: 1 } },
  },
  {
    name: 'vram-pressure',
    signal: 'vramUsedRatio',
    operator: 'Above',
    // Seed: VRAM > 14 GB on a 16 GB card; as a ratio (14/16 = 0.875) so it scales with the card:
    // 70 GiB of an 80 GiB H100.
    threshold: 0.875,
    clearThreshold: 0.7875, // 0.875 x 0.9: 12.6 of 16 GiB
    for: '5s',
    // Offload applies live (ConfigMap, no restart) from the next image, 1-15 s later: 30 s
    // sees its effect before the next notch (model -> cpu).
    cooldown: '30s',
    action: { type: 'Offload', offload: 'model' },
  },
  {
    name: 'slow-generation',
    // The client's wait per image (router queue + pod queue + generation), not the engine's
    // seconds: an H100 takes ~1.2 s an image, so engine time never reaches 15 s while images
    // queue behind each other for a minute. Without a router, the pods' request duration.
    signal: 'waitP95Seconds',
    operator: 'Above',
    // Seed: "> 15 s per image" (the router's wait histogram has a bucket edge at 15 s, and
    // fine buckets around it).
    threshold: 15,
    clearThreshold: 13.5, // 15 x 0.9
    // p95 over 30 s, not the seed's 0 s: shorter windows hold too few images at ~1 image/s per pod.
    for: '30s',
    // 60 s: the p95 is a rate over 1 m, so the next action sees a p95 measured after this one.
    cooldown: '60s',
    action: { type: 'Scale', scale: { by: 1 } },
  },
  {
    name: 'idle',
    signal: 'gpuUtilization',
    operator: 'Below',
    // Not in the seed, which never scales in: GPU utilization under 30% for 5 min.
    threshold: 30,
    // 30 x 1.1. A scale-in from 4 pods to 3 lifts 30% to 40% (N/(N-1)) and clears the rule:
    // the next pod goes only after another 5 min below 30%.
    clearThreshold: 33,
    for: '5m',
    // 300 s: the defaults of HPA's scale-down stabilization window and KEDA's cooldownPeriod;
    // one pod at a time, a load that returns finds the GPUs still there.
    cooldown: '5m',
    action: { type: 'Scale', scale: { by: -1 } },
  },
];

/**
 * Scale to demand (policy/demand.ts): what the routers see arriving and queued, at full
 * quality, sized in one decision. Only with the router: it is what measures demand.
 */
export const demandRule: Rule = {
  name: 'demand',
  signal: 'demandUtilization',
  operator: 'Above',
  // The target: pods busy 80% of the time at full quality. Above it, scale out to the count
  // that brings the demand back to 80%; the 20% is the headroom a Poisson stream needs for
  // its queue to stay short (at 80% an M/D/1 queue holds ~1.6 images on average).
  threshold: 80,
  // 72 (80 x 0.9): scale-in only leaves the survivors under it.
  clearThreshold: 72,
  // The windows do the smoothing: 0 s acts on the first reading over the target.
  for: '0s',
  // Scale-in at most once a minute (and once per stable window).
  cooldown: '60s',
  action: {
    type: 'Scale',
    scale: { toDemand: { drain: '30s', stableWindow: '60s', panicWindow: '10s' } },
  },
};

/**
 * The defaults with the router: scale to demand, offload under VRAM pressure, and the seed's
 * 15 s line as a backstop when the demand is priced wrong. Utilization rules are left out: the
 * demand rule scales out before utilization can saturate, and scales in on the same windows.
 */
export const defaultRoutedRules: readonly Rule[] = [
  demandRule,
  defaultRules.find((r) => r.name === 'vram-pressure')!,
  defaultRules.find((r) => r.name === 'slow-generation')!,
];
