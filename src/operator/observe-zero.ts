/**
 * Pure: what Ready says of an object with no replica desired. Whether a pod starts on demand
 * is what the user of a scaled-to-zero object needs to know: with the router and autoscaling
 * Enforce at minReplicas 0 the first request wakes it; otherwise nothing will until someone
 * scales it.
 */
import type { ZImageDeploymentSpec } from './api/v1alpha1/spec.ts';
import { podStartSeconds } from './builders/pod-start.ts';

export function scaledToZeroMessage(name: string, spec: ZImageDeploymentSpec | undefined): string {
  if (!spec) return 'scaled to zero';
  const { mode, minReplicas } = spec.autoscaling;
  const routed = spec.router.enabled;
  if (routed && mode === 'Enforce' && minReplicas === 0) {
    return `scaled to zero: the routers hold requests and the autoscaler starts a pod on the first arrival (about ${podStartSeconds(spec)} s to Ready)`;
  }
  const held = routed
    ? 'the routers hold requests until their deadline'
    : 'requests find no endpoint';
  const wake =
    `kubectl scale zid/${name} --replicas=1 starts one` +
    (routed ? ', or autoscaling Enforce with minReplicas 0 starts one on demand' : '');
  return `scaled to zero: spec.replicas is 0 and autoscaling is ${mode}, so no pod starts on demand and ${held} (${wake})`;
}
