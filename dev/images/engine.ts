/**
 * Running buildah, podman and skopeo against one container store (a folder of its own, never
 * the machine's default store), under the project's containers.conf.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { containersEnv } from './tools.ts';

/** A containers-storage location: images and layers in `root`, run state in `runroot`. */
export interface Store {
  root: string;
  runroot: string;
}

/**
 * The store kept in `dir`. Its run state goes under /tmp by a short name: podman refuses a
 * runroot longer than 50 characters (socket paths), and run state need not survive a reboot.
 */
export function storeAt(dir: string): Store {
  const root = path.resolve(dir, 'storage');
  return {
    root,
    runroot: path.join(
      '/tmp',
      `zimage-run-${createHash('sha256').update(root).digest('hex').slice(0, 12)}`,
    ),
  };
}

/** The global flags that put buildah or podman on this store. */
export function storeArgs(store: Store): string[] {
  return ['--root', store.root, '--runroot', store.runroot, '--storage-driver', 'overlay'];
}

/** skopeo's name for an image in this store. */
export function storageRef(store: Store, ref: string): string {
  return `containers-storage:[overlay@${store.root}+${store.runroot}]${ref}`;
}

/** Run a container tool; returns trimmed stdout, throws with the command and its stderr. */
export function tool(command: string, args: readonly string[]): string {
  try {
    return execFileSync(command, args, {
      env: containersEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 256 * 1024 * 1024,
    })
      .toString()
      .trim();
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
    throw new Error(
      `${command} ${args.join(' ')} failed:\n${stderr.split('\n').slice(-20).join('\n')}`,
      {
        cause: error,
      },
    );
  }
}

/** Run a container tool and return its exit status and output, whatever the status. */
export function toolResult(
  command: string,
  args: readonly string[],
): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(command, args, { env: containersEnv(), maxBuffer: 256 * 1024 * 1024 });
  if (r.error)
    throw new Error(`${command} could not start: ${r.error.message}`, { cause: r.error });
  return { status: r.status ?? 128, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

export function buildah(store: Store, ...args: string[]): string {
  return tool('buildah', [...storeArgs(store), ...args]);
}

export function podman(store: Store, ...args: string[]): string {
  return tool('podman', [...storeArgs(store), ...args]);
}

/** True when the store holds an image of that name. */
export function hasImage(store: Store, ref: string): boolean {
  try {
    buildah(store, 'inspect', '--type', 'image', '--format', '{{.FromImageID}}', ref);
    return true;
  } catch {
    return false;
  }
}

/** sha256 over strings and files, in order: the cache keys of layers and inputs. */
export function hashOf(...parts: (string | { file: string })[]): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    hash.update(typeof part === 'string' ? part : fs.readFileSync(part.file));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** sha256 of a whole folder: relative paths, modes and contents, in name order. */
export function hashTree(dir: string): string {
  const hash = createHash('sha256');
  const walk = (rel: string) => {
    const abs = path.join(dir, rel);
    const entries = fs
      .readdirSync(abs, { withFileTypes: true })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const child = path.join(rel, entry.name);
      const stat = fs.lstatSync(path.join(dir, child));
      hash.update(`${child}\0${stat.mode}\0`);
      if (entry.isDirectory()) walk(child);
      else if (entry.isSymbolicLink()) hash.update(fs.readlinkSync(path.join(dir, child)));
      else hash.update(fs.readFileSync(path.join(dir, child)));
    }
  };
  walk('');
  return hash.digest('hex');
}
