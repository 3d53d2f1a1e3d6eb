/**
 * How long a new runtime pod of a spec takes to serve, for the router's Retry-After while no
 * pod is Ready (router.ts renders it) and for the status of an object scaled to zero.
 */
import type { V1EnvVar } from '@kubernetes/client-node';
import { cardOf, startupSeconds } from '../../contract/pod-start.ts';
import { defaultPodStartSeconds, routerEnv } from '../../contract/router.ts';
import { maxResolutionOf } from '../api/v1alpha1/runtime-spec.ts';
import type { ZImageDeploymentSpec } from '../api/v1alpha1/spec.ts';

/** The router reads whole seconds in 1..3600 (src/router/config.ts). */
const maxPodStartSeconds = 3_600;

/**
 * The card model's start (weights at 200 MB/s, then one warm-up image at maxResolution), in
 * whole seconds. The spec's quality, not the autoscaler's: a live change of steps or offload
 * must not roll the routers. E.g. the default spec on an H100: 102.2 + 1.2 = 103 s; on the
 * 16 GiB card: 102.2 + 8.3 = 110 s; with `offload: model` there, + 9.7 s = 120 s.
 */
export function podStartSeconds(spec: ZImageDeploymentSpec): number {
  const { runtime } = spec;
  const seconds = startupSeconds(cardOf(spec), {
    ...maxResolutionOf(runtime),
    steps: runtime.steps,
    offload: runtime.offload,
    attention: runtime.attention,
    precision: spec.model.precision,
  });
  return Math.min(maxPodStartSeconds, Math.max(1, Math.round(seconds)));
}

/**
 * ZIMAGE_ROUTER_POD_START_SECONDS, only where it differs from the router's default (103 s, the
 * default spec on an H100): rendering the default too would change every existing router's
 * pod template, and roll it, on an operator upgrade.
 */
export function podStartEnv(spec: ZImageDeploymentSpec): V1EnvVar[] {
  const seconds = podStartSeconds(spec);
  return seconds === defaultPodStartSeconds
    ? []
    : [{ name: routerEnv.podStartSeconds, value: String(seconds) }];
}
