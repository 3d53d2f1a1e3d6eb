/**
 * The dcgm-exporter DaemonSet as the GPU Operator deploys it (namespace gpu-operator, app
 * nvidia-dcgm-exporter, port "metrics" 9400, pod mapping through the kubelet's pod-resources
 * folder, NODE_NAME from the downward API), on every GPU node of the local fleet. Its pods
 * carry the pod-runner annotation, so the runner backs each with the stand-in.
 */
import type { V1DaemonSet } from '@kubernetes/client-node';
import { nvidiaGpuResource, podRunnerAnnotation } from '../../src/contract/labels.ts';
import { podResourcesDir } from './dcgm-exporter.ts';

export const dcgmNamespace = 'gpu-operator';
export const dcgmName = 'nvidia-dcgm-exporter';
export const dcgmLabels = { app: dcgmName } as const;
export const dcgmPort = 9400;
export const dcgmPortName = 'metrics';
/** The GPU Operator v25.3 default; only its repository name matters here (dev/fleet/programs.ts). */
export const dcgmImage = 'nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.1.3-ubuntu22.04';

export function buildDcgmDaemonSet(options: { intervalMs: number }): V1DaemonSet {
  const probe = (failureThreshold: number) => ({
    httpGet: { path: '/health', port: dcgmPort },
    periodSeconds: 1,
    failureThreshold,
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: dcgmName, namespace: dcgmNamespace, labels: { ...dcgmLabels } },
    spec: {
      selector: { matchLabels: { ...dcgmLabels } },
      template: {
        metadata: {
          labels: { ...dcgmLabels },
          annotations: { [podRunnerAnnotation]: 'dcgm-exporter' },
        },
        spec: {
          nodeSelector: { 'nvidia.com/gpu.present': 'true' },
          tolerations: [{ key: nvidiaGpuResource, operator: 'Exists', effect: 'NoSchedule' }],
          // Stopping an exporter loses nothing: no need for the default 30 s.
          terminationGracePeriodSeconds: 2,
          containers: [
            {
              name: dcgmName,
              image: dcgmImage,
              env: [
                { name: 'DCGM_EXPORTER_LISTEN', value: `:${dcgmPort}` },
                { name: 'DCGM_EXPORTER_KUBERNETES', value: 'true' },
                // dcgm-exporter's default is 30000; the local fleet samples every second.
                { name: 'DCGM_EXPORTER_INTERVAL', value: String(options.intervalMs) },
                { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
              ],
              ports: [{ name: dcgmPortName, containerPort: dcgmPort, protocol: 'TCP' }],
              readinessProbe: probe(3),
              livenessProbe: probe(10),
              volumeMounts: [
                { name: 'pod-gpu-resources', mountPath: podResourcesDir, readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: 'pod-gpu-resources', hostPath: { path: podResourcesDir, type: 'Directory' } },
          ],
        },
      },
    },
  };
}
