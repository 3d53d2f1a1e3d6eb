/**
 * ServiceMonitor and PrometheusRule: created only while the monitoring.coreos.com CRDs exist.
 * The alert rules mirror the operator's default policy so the SRE pipeline sees what the
 * operator sees; thresholds follow DESIGN.md.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { runtimePaths, runtimePortName } from '../../contract/runtime.ts';
import type { ZImageDeployment } from '../api/v1alpha1/types.ts';
import { childNames, selectorLabels } from './names.ts';
import { childMeta } from './owner.ts';

export interface MonitoringObject extends KubernetesObject {
  spec: Record<string, unknown>;
}

export function buildServiceMonitor(cr: ZImageDeployment): MonitoringObject {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: childMeta(cr, childNames(cr.metadata.name).serviceMonitor),
    spec: {
      selector: { matchLabels: selectorLabels(cr.metadata.name) },
      // 5 s: the slow-generation rule's 30 s window then holds 6 samples.
      endpoints: [{ port: runtimePortName, path: runtimePaths.metrics, interval: '5s' }],
    },
  };
}

export function buildPrometheusRule(cr: ZImageDeployment): MonitoringObject {
  const { name, namespace } = cr.metadata;
  const pods = `namespace="${namespace}", pod=~"${name}-.*"`;
  // VRAM alert at 87.5% of the card (14 of 16 GiB); dcgm-exporter reports MiB.
  const vramMiB = Math.round(cr.spec.gpu.memoryGiB * 1024 * 0.875);
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: childMeta(cr, childNames(name).prometheusRule),
    spec: {
      groups: [
        {
          name: `zimage-${name}`,
          rules: [
            {
              alert: 'ZImageGpuSaturated',
              expr: `avg(DCGM_FI_DEV_GPU_UTIL{${pods}}) > 90`,
              for: '5s',
              labels: { severity: 'warning' },
              annotations: { summary: `GPU utilization of ${namespace}/${name} above 90% for 5s` },
            },
            {
              alert: 'ZImageVramPressure',
              expr: `max(DCGM_FI_DEV_FB_USED{${pods}}) > ${vramMiB}`,
              for: '5s',
              labels: { severity: 'warning' },
              annotations: {
                summary: `VRAM of ${namespace}/${name} above 87.5% of ${cr.spec.gpu.memoryGiB} GiB`,
              },
            },
            {
              alert: 'ZImageSlowGeneration',
              expr: `histogram_quantile(0.95, sum by (le) (rate(zimage_generation_duration_seconds_bucket{${pods}}[1m]))) > 15`,
              for: '30s',
              labels: { severity: 'warning' },
              annotations: { summary: `p95 generation latency of ${namespace}/${name} above 15s` },
            },
          ],
        },
      ],
    },
  };
}
