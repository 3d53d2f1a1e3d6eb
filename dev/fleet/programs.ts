/**
 * What the pod runner runs for a container image: there is no container engine, so an image
 * stands for one of our programs, started from this checkout with the project's Node. The
 * container's args follow the program's own (as with an image's entrypoint); `command`
 * overrides are refused, since the local fleet has no image to find another binary in.
 */
import path from 'node:path';
import { serverEnv } from '../../src/runtime/config.ts';
import { runtimeEnv } from '../../src/contract/runtime.ts';
import { repoRoot } from '../paths.ts';
import { podIpEnv } from './dcgm-exporter.ts';

export const projectNode = path.join(repoRoot, 'node_modules/.bin/node');

export interface Program {
  name: string;
  /** Matches the image reference (repository part). */
  image: RegExp;
  entry: string;
  /**
   * Environment the runner adds on top of the pod's, standing in for what a pod has and this
   * machine lacks: its own network namespace (bind the pod IP) and, for the runtime, a GPU.
   */
  env: (podIp: string, podEnv: ReadonlyMap<string, string>) => Record<string, string>;
}

export const programs: readonly Program[] = [
  {
    name: 'zimage-runtime',
    image: /(^|\/)zimage-runtime(:|@|$)/,
    entry: 'src/runtime/main.ts',
    env: (podIp, podEnv) => ({
      // "0.0.0.0" in a pod means the pod's own address; here that is its loopback IP.
      [serverEnv.host]: podIp,
      // No GPU here: cuda and webgpu run on the CPU EP; the card model stands in for the card.
      ...(podEnv.get(runtimeEnv.executionProvider) === 'cpu'
        ? {}
        : { [runtimeEnv.executionProvider]: 'cpu' }),
      // One ORT thread per runtime: a fleet of several shares two cores.
      ...(podEnv.has(serverEnv.intraOpThreads) ? {} : { [serverEnv.intraOpThreads]: '1' }),
    }),
  },
  {
    name: 'dcgm-exporter',
    image: /(^|\/)dcgm-exporter(:|@|$)/,
    entry: 'dev/fleet/dcgm-exporter.ts',
    env: (podIp) => ({ [podIpEnv]: podIp }),
  },
];

export function programFor(image: string | undefined): Program | undefined {
  return programs.find((p) => p.image.test(image ?? ''));
}
