/**
 * What the pod runner runs for a container image: there is no container engine, so an image
 * stands for one of our programs, started from this checkout with the project's Node. The
 * container's args follow the program's own (as with an image's entrypoint). A `command` picks
 * another program of the same image only where a program names that command (the operator
 * image runs the router that way); any other is refused, since the local fleet has no image to
 * find another binary in.
 */
import path from 'node:path';
import type { Card } from '../../src/contract/card.ts';
import { serverEnv } from '../../src/runtime/config.ts';
import { routerEnv, routerMain } from '../../src/contract/router.ts';
import { fleetEnv, runtimeEnv } from '../../src/contract/runtime.ts';
import { repoRoot } from '../paths.ts';
import { podIpEnv } from './dcgm-exporter.ts';

export const projectNode = path.join(repoRoot, 'node_modules/.bin/node');

/** What the runner knows when it starts a container, beyond the pod's own environment. */
export interface LaunchContext {
  podIp: string;
  podEnv: ReadonlyMap<string, string>;
  /** The card model of the node's GPUs (cardForNode), undefined on a node without GPUs. */
  card: Card | undefined;
  /** The fleet's pacing switch (startCluster({ fleet: { pacing } }), default on). */
  pacing: boolean;
}

export interface Program {
  name: string;
  /** Matches the image reference (repository part). */
  image: RegExp;
  /** The container command that selects this program of the image (absent: command unset). */
  command?: readonly string[];
  entry: string;
  /**
   * Environment the runner adds on top of the pod's, standing in for what a pod has and this
   * machine lacks: its own network namespace (bind the pod IP) and, for the runtime, a GPU.
   */
  env: (ctx: LaunchContext) => Record<string, string>;
}

export const programs: readonly Program[] = [
  {
    name: 'zimage-runtime',
    image: /(^|\/)zimage-runtime(:|@|$)/,
    entry: 'src/runtime/main.ts',
    env: runtimeOverrides,
  },
  {
    // The operator image's second program (builders/router.ts sets this command).
    name: 'zimage-router',
    image: /(^|\/)zimage-operator(:|@|$)/,
    command: ['/usr/local/bin/node', routerMain],
    entry: routerMain,
    // "0.0.0.0" in a pod means the pod's own address; here that is its loopback IP.
    env: ({ podIp }) => ({ [routerEnv.host]: podIp }),
  },
  {
    name: 'dcgm-exporter',
    image: /(^|\/)dcgm-exporter(:|@|$)/,
    entry: 'dev/fleet/dcgm-exporter.ts',
    env: ({ podIp }) => ({ [podIpEnv]: podIp }),
  },
];

/**
 * The local fleet's overrides of a runtime pod's environment, the one place they are made (a
 * kubelet adds none of them; the operator and deploy/ never set the fleet's variables):
 * - ZIMAGE_HOST: "0.0.0.0" in a pod means the pod's own address; here that is its loopback IP.
 * - the CPU EP whatever the pod asks (cuda, webgpu): there is no GPU on this machine.
 * - one ORT thread unless the pod sets its own: a fleet of 8 shares two cores.
 * - ZIMAGE_GPU_CARD from the node's GPU labels, unless the pod names one: the fit check then
 *   refuses what the modelled card could not hold (on the 16 GB RTX 4090 profile every size with
 *   offload none: 20.4 GB of weights), and the dcgm stand-in models the same card.
 * - ZIMAGE_PACING=true when the fleet paces and the pod has a card (pacing needs one): stages
 *   take the real model's time on that card, so pods add capacity as GPUs do.
 */
export function runtimeOverrides(ctx: LaunchContext): Record<string, string> {
  const { podEnv } = ctx;
  const card = podEnv.get(fleetEnv.gpuCard) ?? ctx.card?.id;
  return {
    [serverEnv.host]: ctx.podIp,
    ...(podEnv.get(runtimeEnv.executionProvider) === 'cpu'
      ? {}
      : { [runtimeEnv.executionProvider]: 'cpu' }),
    ...(podEnv.has(serverEnv.intraOpThreads) ? {} : { [serverEnv.intraOpThreads]: '1' }),
    ...(card ? { [fleetEnv.gpuCard]: card } : {}),
    ...(ctx.pacing && card && !podEnv.has(fleetEnv.pacing) ? { [fleetEnv.pacing]: 'true' } : {}),
  };
}

/** The program of this image and command (an unset or empty command: the image's own). */
export function programFor(
  image: string | undefined,
  command: readonly string[] = [],
): Program | undefined {
  const same = (a: readonly string[]) =>
    a.length === command.length && a.every((arg, i) => arg === command[i]);
  return programs.find((p) => p.image.test(image ?? '') && same(p.command ?? []));
}
