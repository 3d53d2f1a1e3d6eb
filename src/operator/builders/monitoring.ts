/**
 * ServiceMonitor and PrometheusRule: created only while the monitoring.coreos.com CRDs exist.
 * The alerts are the object's own rules (or the default table, api/v1alpha1/default-rules.ts), with
 * the same signals (signals/prometheus/promql.ts), thresholds, windows and hysteresis the operator decides
 * on, so the SRE pipeline sees what the operator sees.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { instanceMetaLabel, seriesLabels } from '../../contract/metrics.ts';
import { runtimePaths, runtimePortName } from '../../contract/runtime.ts';
import type { Action, Rule } from '../api/v1alpha1/autoscaling.ts';
import { rulesOf } from '../api/v1alpha1/autoscaling-spec.ts';
import type { ZImageDeployment } from '../api/v1alpha1/types.ts';
import {
  promDuration,
  promString,
  runtimeMatchers,
  signalLabels,
  signalQuery,
  type Scope,
  type Signal,
} from '../signals/prometheus/promql.ts';
import { childNames, selectorLabels } from '../api/v1alpha1/names.ts';
import { childMeta } from './owner.ts';
import { keyOf } from '../../contract/object-key.ts';

export interface MonitoringObject extends KubernetesObject {
  spec: Record<string, unknown>;
}

/**
 * One ServiceMonitor for the runtime pods and the routers: it selects the Services labelled
 * like the runtime's (childLabels), which are `<name>` (the runtime pods, or the routers while
 * spec.router is on) and `<name>-pods` (the runtime pods while it is on). Both serve /metrics on
 * the same port name; the routers' series are zimage_router_*, so no query mixes them, and the
 * instance label gives both the zimage_deployment label the signals select by.
 */
export function buildServiceMonitor(cr: ZImageDeployment): MonitoringObject {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: childMeta(cr, childNames(cr.metadata.name).serviceMonitor),
    spec: {
      selector: { matchLabels: selectorLabels(cr.metadata.name) },
      endpoints: [
        {
          port: runtimePortName,
          path: runtimePaths.metrics,
          // 5 s: the slow-generation rule's 30 s window then holds 6 samples.
          interval: '5s',
          // The pod's instance label on every series: rules select one ZImageDeployment by
          // it exactly, where pod=~"<name>-.*" also matched <name>-canary's pods.
          relabelings: [
            {
              action: 'replace',
              sourceLabels: [instanceMetaLabel],
              targetLabel: seriesLabels.deployment,
            },
          ],
        },
      ],
    },
  };
}

/** Alert label naming the rule: alert names of two rules may coincide (a-1, a1 -> ZImageA1). */
const ruleLabel = 'rule';

/** gpu-saturated -> ZImageGpuSaturated. */
export function alertName(ruleName: string): string {
  const pascal = ruleName
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
  return `ZImage${pascal}`;
}

const signalText: Record<Signal, { what: string; value: (v: number) => string }> = {
  gpuUtilization: { what: 'GPU utilization', value: (v) => `${v}%` },
  vramUsedRatio: { what: 'VRAM used', value: (v) => `${+(v * 100).toFixed(2)}% of the card` },
  latencyP95Seconds: { what: 'p95 generation latency', value: (v) => `${v}s` },
  waitP95Seconds: { what: "p95 of the clients' wait per image", value: (v) => `${v}s` },
  queueDepth: { what: 'queue depth', value: (v) => `${v}` },
};

const signed = (n: number) => (n > 0 ? `+${n}` : `${n}`);

function actionText(action: Action): string {
  switch (action.type) {
    case 'Scale':
      return action.scale?.to === undefined
        ? `scale by ${signed(action.scale?.by ?? 0)}`
        : `scale to ${action.scale.to}`;
    case 'Offload':
      return `offload ${action.offload}`;
    case 'Attention':
      return `attention ${action.attention}`;
    case 'Steps':
      return action.steps?.set === undefined
        ? `steps by ${signed(action.steps?.by ?? 0)}`
        : `steps set ${action.steps.set}`;
  }
}

/**
 * `signal > threshold`, held while above clearThreshold once firing: Prometheus has no
 * hysteresis, so the rule reads its own firing ALERTS series (written at the previous
 * evaluation). Pending is not held: a breach must last the whole `for` above the threshold.
 */
function alertExpr(rule: Rule & { signal: Signal }, alert: string, scope: Scope): string {
  const value = signalQuery(rule.signal, scope);
  const op = rule.operator === 'Above' ? '>' : '<';
  const breach = `${value} ${op} ${rule.threshold}`;
  if (rule.clearThreshold === undefined) return breach;
  const own = `alertname=${promString(alert)}, ${ruleLabel}=${promString(rule.name)}`;
  const firing = `ALERTS{${own}, alertstate="firing", ${runtimeMatchers(scope)}}`;
  return `(${breach}) or (${value} ${op} ${rule.clearThreshold} and on(${signalLabels.join(', ')}) ${firing})`;
}

function alertRule(rule: Rule & { signal: Signal }, cr: ZImageDeployment) {
  const { name, namespace } = cr.metadata;
  const alert = alertName(rule.name);
  const text = signalText[rule.signal];
  const side = rule.operator === 'Above' ? 'above' : 'below';
  const clears =
    rule.clearThreshold === undefined
      ? ''
      : `; clears ${side === 'above' ? 'below' : 'above'} ${text.value(rule.clearThreshold)}`;
  return {
    alert,
    expr: alertExpr(rule, alert, { namespace, name }),
    for: promDuration(rule.for),
    // A low signal (idle, scale-in) is information, never a page.
    labels: { severity: rule.operator === 'Above' ? 'warning' : 'info', [ruleLabel]: rule.name },
    annotations: {
      summary: `${text.what} of ${keyOf({ namespace, name })} ${side} ${text.value(rule.threshold)} for ${rule.for}`,
      description: `zimage-operator rule ${rule.name}: ${actionText(rule.action)}, at most every ${rule.cooldown}${clears}.`,
    },
  };
}

export function buildPrometheusRule(cr: ZImageDeployment): MonitoringObject {
  const { name } = cr.metadata;
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: childMeta(cr, childNames(name).prometheusRule),
    spec: {
      groups: [
        {
          name: `zimage-${name}`,
          // A toDemand rule sizes the fleet every decision; it is no symptom to page on (the
          // clients' wait is: slow-generation), and its demand needs the policy's arithmetic.
          rules: rulesOf(cr.spec).flatMap((rule) => {
            const signal = rule.signal;
            return signal === 'demandUtilization' ? [] : [alertRule({ ...rule, signal }, cr)];
          }),
        },
      ],
    },
  };
}
