/**
 * A bubblewrap sandbox shaped like the runtime pod (src/operator/builders/deployment.ts), for a
 * machine without a container engine: read-only root, writable emptyDirs only at /tmp and
 * /var/cache/zimage (read from buildDeployment, with their sizeLimit), the model read-only at
 * /models, uid/gid 65532, no capabilities. Not mirrored: seccomp RuntimeDefault (bwrap takes only
 * a compiled BPF program) and the pod's own network namespace (the test reaches it on loopback).
 *
 * Why not simply `--ro-bind / /`: once the root is read-only, bwrap cannot create the mount
 * points /models and /var/cache/zimage, which the host lacks ("Can't mkdir /models:
 * Read-only file system"), and creating them on the host would change the machine. So the
 * root is bwrap's own tmpfs, every entry of the host's `/` is bound read-only onto it (the same
 * view as `--ro-bind / /`), and the directories on the way to a mount point (`/`, `/var`,
 * `/var/cache`) are rebuilt the same way one level down. Once the mount points exist,
 * `--remount-ro /` makes that tmpfs read-only as well; it is not recursive, so the two tmpfs
 * mounts stay writable. This is what the container runtime does for a pod: it creates the
 * mount points in the image's root, then mounts that root read-only.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { mountPaths, runtimeUid } from '../../src/contract/runtime.ts';
import { zimageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import { buildDeployment } from '../../src/operator/builders/deployment.ts';
import { effectiveOf } from '../../src/operator/autoscaling/decision.ts';
import { baseSpec } from './specs.ts';

export interface SandboxOptions {
  /** Host directory bound read-only at mountPaths.model (/models). */
  modelDir: string;
  /** The application (the image's /app): this checkout, read-only at its own path. */
  appDir?: string;
}

const projectRoot = path.resolve(import.meta.dirname, '../..');

/** The runtime pod's emptyDirs as the operator renders them: mount path and sizeLimit. */
export const emptyDirs = renderedEmptyDirs();
/** Replaced wholesale (fresh /dev and /proc, the emptyDirs, the model), never bound from the host. */
const replaced = new Set(['/dev', '/proc', ...emptyDirs.map((d) => d.path), mountPaths.model]);

/**
 * The argv prefix (ending in `--`) that runs a command in the sandbox; pass it as
 * startRuntime's `wrapper`, or append a command of your own.
 */
export function sandboxArgv(options: SandboxOptions): string[] {
  const targets = [...emptyDirs.map((d) => d.path), mountPaths.model];
  return [
    ...hostUser(),
    'bwrap',
    // securityContext.readOnlyRootFilesystem: the image's files, read-only (see the header).
    ...readOnlyTree('/', ancestorsOf(targets)),
    // The container runtime's own /dev (a few device nodes, /dev/shm) and the pod's /proc.
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    // volumes[tmp] and volumes[cache]: emptyDirs (emptyDir.sizeLimit), writable by the pod's
    // user (fsGroup 65532).
    ...emptyDirs.flatMap(({ path: dir, bytes }) => [
      ...['--dir', dir, '--perms', '1777', '--size', String(bytes), '--tmpfs', dir],
    ]),
    // The image's own files live in its read-only root; a checkout under an emptyDir path (a CI
    // clone in /tmp) is hidden by that tmpfs, so it is bound back, read-only.
    ...appBinding(options.appDir ?? projectRoot),
    // volumes[model] (persistentVolumeClaim.readOnly) at volumeMounts[model] (readOnly: true).
    '--dir',
    mountPaths.model,
    '--ro-bind',
    options.modelDir,
    mountPaths.model,
    // Last: the rebuilt directories become read-only too, now that the mount points exist.
    '--remount-ro',
    '/',
    // securityContext.runAsUser / runAsGroup 65532 (runAsNonRoot). bwrap also drops every
    // capability (capabilities.drop: [ALL]) and sets no_new_privs (allowPrivilegeEscalation:
    // false); the test reads both back from /proc/self/status.
    '--unshare-user',
    '--uid',
    String(runtimeUid),
    '--gid',
    String(runtimeUid),
    // The pod's own PID, IPC and UTS namespaces; its network stays the host's so that the test
    // reaches the runtime on 127.0.0.1 (a pod's port, reached through its IP).
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    // The kubelet kills the container with the pod: nothing outlives the test.
    '--die-with-parent',
    '--',
  ];
}

function appBinding(appDir: string): string[] {
  const hidden = emptyDirs.some(({ path: dir }) => appDir === dir || appDir.startsWith(`${dir}/`));
  return hidden ? ['--ro-bind', appDir, appDir] : [];
}

/**
 * Run as root, `bwrap --uid 65532` alone maps the sandbox's 65532 onto host root, so every
 * root-owned file would look like the sandbox user's own (a pod's 65532 is a real, unrelated
 * uid). Dropping to host uid 65532 first makes it the plain user the pod runs as: host root is
 * then unmapped in the sandbox (files show as the overflow uid 65534). Not root: bwrap maps the
 * caller's own uid, which is not root either.
 */
function hostUser(): string[] {
  if (process.getuid?.() !== 0) return [];
  const id = String(runtimeUid);
  return ['setpriv', `--reuid=${id}`, `--regid=${id}`, '--clear-groups', '--no-new-privs'];
}

/** `/`, `/var`, `/var/cache` for /var/cache/zimage and /models. */
function ancestorsOf(targets: readonly string[]): Set<string> {
  const dirs = new Set<string>();
  for (const target of targets) {
    for (let dir = path.dirname(target); ; dir = path.dirname(dir)) {
      dirs.add(dir);
      if (dir === '/') break;
    }
  }
  return dirs;
}

/**
 * bwrap arguments that reproduce host `dir` read-only: each entry bound read-only (symlinks
 * recreated), except the directories that must hold a new mount point, rebuilt one level down.
 */
function readOnlyTree(dir: string, rebuild: ReadonlySet<string>): string[] {
  const args = dir === '/' ? [] : ['--dir', dir];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const host = path.join(dir, entry.name);
    if (replaced.has(host)) continue;
    if (rebuild.has(host)) args.push(...readOnlyTree(host, rebuild));
    else if (entry.isSymbolicLink()) args.push('--symlink', fs.readlinkSync(host), host);
    else args.push('--ro-bind', host, host);
  }
  return args;
}

/**
 * Why bwrap cannot make the sandbox's namespaces here (user namespaces disabled, seccomp in an
 * outer container, ...), or undefined when it can. Only this makes the sandbox tests skip; any
 * other failure of the sandbox is a test failure.
 */
export function namespacesUnavailable(): string | undefined {
  const [command = 'bwrap', ...args] = [
    ...hostUser(),
    'bwrap',
    ...['--ro-bind', '/', '/', '--unshare-user', '--unshare-pid', '--', 'true'],
  ];
  const probe = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000 });
  if (probe.error) throw new Error(`could not run ${command}`, { cause: probe.error });
  if (probe.status === 0) return undefined;
  return `bwrap cannot create user and PID namespaces on this machine: ${probe.stderr.trim()}`;
}

/** Set to say why the sandbox tests are skipped on purpose, e.g. "CI runner without userns". */
export const sandboxOptOutEnv = 'ZIMAGE_SKIP_SANDBOX';

/**
 * Whether the sandbox tests run: undefined to run them, or the reason they are skipped. On a
 * developer machine without user namespaces they skip with a warning; in CI (CI set) a skip
 * must be asked for, with a reason, in ZIMAGE_SKIP_SANDBOX: otherwise this throws, so that
 * 19 tests never vanish from CI silently. The opt-out skips wherever it is set.
 */
export function sandboxSkip(
  env: Record<string, string | undefined>,
  unavailable: string | undefined,
): string | undefined {
  const optOut = env[sandboxOptOutEnv]?.trim();
  if (optOut !== undefined && optOut !== '') {
    if (/^(1|true|yes|on)$/i.test(optOut)) {
      throw new Error(`${sandboxOptOutEnv}=${optOut}: say why the sandbox tests are skipped`);
    }
    return `${sandboxOptOutEnv}: ${optOut}`;
  }
  if (unavailable === undefined) return undefined;
  if (env['CI']) {
    throw new Error(
      `${unavailable}. In CI the sandbox tests must run: allow unprivileged user namespaces ` +
        `(sysctl kernel.unprivileged_userns_clone=1, or kernel.apparmor_restrict_unprivileged_userns=0), ` +
        `or set ${sandboxOptOutEnv} to the reason they are skipped`,
    );
  }
  return unavailable;
}

/** Run a short shell script in the sandbox; never throws on a non-zero exit. */
export function inSandbox(
  options: SandboxOptions,
  script: string,
): { status: number | null; stdout: string; stderr: string } {
  const [command = 'bwrap', ...args] = sandboxArgv(options);
  const result = spawnSync(command, [...args, 'sh', '-c', script], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (result.error) throw new Error(`could not run ${command}`, { cause: result.error });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * The host's view of a process under `rootPid` (the wrapper's pid) whose command line contains
 * `match`: its /proc status fields (Uid, Gid, CapEff, NoNewPrivs, ...), or undefined if none.
 */
export function hostStatusOf(rootPid: number, match: string): Record<string, string> | undefined {
  const parents = new Map<number, number>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(name), ppid);
    } catch {
      // Gone since readdir.
    }
  }
  const under = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) {
      if (p === rootPid) return true;
    }
    return false;
  };
  for (const pid of parents.keys()) {
    if (!under(pid)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!cmdline.some((arg) => arg.includes(match)) || cmdline[0]?.endsWith('bwrap')) continue;
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      return Object.fromEntries(
        status.split('\n').flatMap((line) => {
          const at = line.indexOf(':');
          return at < 0 ? [] : [[line.slice(0, at), line.slice(at + 1).trim()]];
        }),
      );
    } catch {
      // Gone since readdir.
    }
  }
  return undefined;
}

/**
 * Read from buildDeployment for a default ZImageDeployment, so the sandbox follows the pod spec:
 * today /tmp (1Gi) and /var/cache/zimage (4Gi).
 */
function renderedEmptyDirs(): { path: string; bytes: number }[] {
  const cr = {
    metadata: { name: 'sandbox', namespace: 'sandbox', uid: 'sandbox' },
    spec: zimageDeploymentSpec.parse(baseSpec()),
  };
  const pod = buildDeployment(cr, effectiveOf(cr)).spec?.template.spec;
  const mounts = pod?.containers[0]?.volumeMounts ?? [];
  return (pod?.volumes ?? []).flatMap((volume) => {
    const mount = mounts.find((m) => m.name === volume.name);
    if (!volume.emptyDir || !mount) return [];
    return [{ path: mount.mountPath, bytes: quantityBytes(volume.emptyDir.sizeLimit ?? '1Gi') }];
  });
}

/** "1Gi" -> 1073741824: the binary suffixes the builders use. */
function quantityBytes(quantity: string): number {
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(quantity);
  if (!match) throw new Error(`unsupported quantity ${quantity}: use an integer with Ki, Mi or Gi`);
  const power = { Ki: 1, Mi: 2, Gi: 3 }[match[2] as 'Ki' | 'Mi' | 'Gi'] ?? 0;
  return Number(match[1]) * 1024 ** power;
}
