/**
 * Run an image the way its pod runs it: read-only root, non-root uid 65532, the writable paths
 * as tmpfs, a memory limit, podman's --init as PID 1, host network on loopback (the local
 * cluster and the runtime both answer on 127.0.0.1).
 */
import { podman, storeArgs, toolResult, type Store } from './engine.ts';

export interface ContainerOptions {
  image: string;
  name: string;
  env?: Record<string, string>;
  args?: readonly string[];
  /** host path -> container path, read-only. */
  mounts?: Record<string, string>;
  tmpfs?: readonly string[];
  memory?: string;
  /** podman --init (default true). Without it the entrypoint is PID 1. */
  init?: boolean;
  entrypoint?: string;
  /**
   * A pod's `command`: replaces the image's entrypoint, arguments included (podman's
   * --entrypoint as a JSON array), as the operator starts a router from its own image.
   */
  command?: readonly string[];
}

export interface Container {
  name: string;
  logs(): string;
  /** `podman stop -t graceSeconds`: SIGTERM (the image's STOPSIGNAL), then SIGKILL. */
  stop(graceSeconds: number): { seconds: number; exitCode: number };
  remove(): void;
}

export function containerArgs(o: ContainerOptions): string[] {
  const args = ['--name', o.name, '--read-only', '--user', '65532:65532', '--network', 'host'];
  args.push(
    '--memory',
    o.memory ?? '1g',
    '--cap-drop',
    'all',
    '--security-opt',
    'no-new-privileges',
  );
  if (o.init ?? true) args.push('--init');
  for (const dir of o.tmpfs ?? ['/tmp']) args.push('--tmpfs', `${dir}:rw,size=256m,mode=1777`);
  for (const [host, inside] of Object.entries(o.mounts ?? {}))
    args.push('-v', `${host}:${inside}:ro`);
  for (const [k, v] of Object.entries(o.env ?? {})) args.push('-e', `${k}=${v}`);
  if (o.entrypoint) args.push('--entrypoint', o.entrypoint);
  if (o.command) args.push('--entrypoint', JSON.stringify(o.command));
  return [...args, o.image, ...(o.args ?? [])];
}

/** Start a container in the background. */
export function startContainer(store: Store, o: ContainerOptions): Container {
  podman(store, 'rm', '--force', '--ignore', o.name);
  podman(store, 'run', '--detach', ...containerArgs(o));
  return {
    name: o.name,
    logs: () => {
      try {
        return podman(store, 'logs', o.name);
      } catch (error) {
        return `(no logs: ${(error as Error).message})`;
      }
    },
    stop(graceSeconds) {
      const started = Date.now();
      podman(store, 'stop', '--time', String(graceSeconds), o.name);
      const seconds = (Date.now() - started) / 1000;
      const exitCode = Number(podman(store, 'inspect', '--format', '{{.State.ExitCode}}', o.name));
      return { seconds, exitCode };
    },
    remove: () => void podman(store, 'rm', '--force', '--ignore', o.name),
  };
}

/** Run to completion: exit status and output (e.g. the dynamic loader's --list). */
export function runOnce(store: Store, o: ContainerOptions) {
  return toolResult('podman', [...storeArgs(store), 'run', '--rm', ...containerArgs(o)]);
}
