/**
 * The Debian tools that build and run the images (mmdebstrap, buildah, podman, skopeo, runc),
 * installed by apt-get from Debian's own archive, with every downloaded .deb kept in the cache so
 * a warm machine installs without downloading. And the containers.conf they run under.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir } from '../paths.ts';

/** Each package with the binary that shows it is installed. */
export const imageToolPackages = {
  mmdebstrap: '/usr/bin/mmdebstrap',
  buildah: '/usr/bin/buildah',
  podman: '/usr/bin/podman',
  skopeo: '/usr/bin/skopeo',
  // Debian's podman defaults to crun, which fails on this machine kind's hybrid cgroups.
  runc: '/usr/sbin/runc',
  // `podman run --init`: a PID 1 that forwards SIGTERM (Node as PID 1 may ignore it).
  catatonit: '/usr/libexec/podman/catatonit',
} as const;

type Log = (line: string) => void;

/** Where apt keeps the .debs it downloads for us (survives between CI runs on a warm machine). */
export function debCacheDir(): string {
  return path.join(cacheDir(), 'debs');
}

/** Install the missing image tools with apt-get (root only), reusing cached .debs. */
export function ensureImageTools(log: Log = (line) => console.log(line)): void {
  const missing = Object.entries(imageToolPackages)
    .filter(([, binary]) => !fs.existsSync(binary))
    .map(([pkg]) => pkg);
  // pip fetches the CUDA image's wheels; Debian's python3-pip where no pip is on PATH.
  if (!hasPip()) missing.push('python3-pip');
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing ${missing.join(', ')}; install them with: sudo apt-get install --no-install-recommends ${missing.join(' ')}`,
    );
  }
  const archives = debCacheDir();
  fs.mkdirSync(path.join(archives, 'partial'), { recursive: true });
  log(`[images] installing ${missing.join(', ')} (debs cached in ${archives})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // The cache belongs to root, not to apt's _apt sandbox user.
  const apt = ['-o', `Dir::Cache::Archives=${archives}/`, '-o', 'APT::Sandbox::User=root'];
  execFileSync('apt-get', [...apt, 'update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', [...apt, 'install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env,
  });
}

function hasPip(): boolean {
  try {
    execFileSync('python3', ['-m', 'pip', '--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * containers.conf for buildah and podman, passed by CONTAINERS_CONF (no file under /etc is
 * touched). The defaults fail on this machine kind: podman's default rlimits are refused
 * (nofile 1048576), crun fails on hybrid cgroups, and there is no systemd for cgroups or logs.
 */
export const containersConf = `[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
`;

/** Write containersConf into the cache and return the environment that points at it. */
export function containersEnv(): NodeJS.ProcessEnv {
  const file = path.join(cacheDir(), 'images', 'containers.conf');
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== containersConf) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, containersConf);
  }
  return { ...process.env, CONTAINERS_CONF: file };
}
