/**
 * The images' base: a root made by mmdebstrap from Debian bookworm's packages only (with the
 * updates and security suites), no shell, no dpkg, no apt (deploy/images/base/rootfs-hook.sh).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../paths.ts';
import { debCacheDir } from './tools.ts';
import { hashOf } from './engine.ts';
import { imagesCacheDir } from './inputs.ts';

/**
 * What Node and ONNX Runtime link against, plus certificates and time zones; and zlib1g
 * (~170 kB), which cuDNN 9's engine libraries link (libz.so.1, found by the smoke test's ldd
 * check). It sits in the shared base rather than a CUDA-only layer: one base for all three.
 */
export const basePackages = [
  'libc6',
  'libstdc++6',
  'libatomic1',
  'zlib1g',
  'ca-certificates',
  'tzdata',
];

/** Pulled in by maintainer scripts that never run in an image: removed again, not listed. */
export const droppedPackages = ['debconf', 'openssl', 'libssl3'];

export const suite = 'bookworm';
export const mirrors = [
  'deb http://deb.debian.org/debian bookworm main',
  'deb http://deb.debian.org/debian bookworm-updates main',
  'deb http://deb.debian.org/debian-security bookworm-security main',
];

const hook = path.join(repoRoot, 'deploy/images/base/rootfs-hook.sh');

export interface DebianPackage {
  name: string;
  version: string;
  architecture: string;
  source: string;
  sha256: string;
}

export interface Base {
  tar: string;
  packages: DebianPackage[];
  key: string;
}

/**
 * Build the base tarball, or reuse today's. The Debian archive moves (security updates) and
 * its snapshot service cannot be reached from our build hosts, so the key holds the UTC date:
 * a warm machine takes up updates within a day, and two builds on one day get the same bytes
 * (mmdebstrap writes a reproducible tarball under SOURCE_DATE_EPOCH).
 */
export function debianBase(epoch: number, log: (line: string) => void, day = utcDay()): Base {
  const key = hashOf(day, String(epoch), ...basePackages, ...droppedPackages, ...mirrors, {
    file: hook,
  }).slice(0, 16);
  const dir = imagesCacheDir('base', key);
  const tar = path.join(dir, 'rootfs.tar');
  if (!fs.existsSync(tar)) {
    log(`[images] mmdebstrap ${suite}: ${basePackages.join(', ')}`);
    const tmp = `${dir}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    const debs = debCacheDir();
    fs.mkdirSync(debs, { recursive: true });
    execFileSync(
      'mmdebstrap',
      [
        '--mode=root',
        '--variant=extract',
        `--include=${basePackages.join(',')}`,
        // No device nodes in a layer (the engine provides /dev), and our hook removes apt's state.
        '--skip=output/dev',
        '--skip=output/mknod',
        '--skip=cleanup/apt',
        '--skip=cleanup/mmdebstrap',
        // The .debs come from and go back to the cache, so a warm machine downloads nothing.
        '--skip=download/empty',
        `--setup-hook=mkdir -p "$1"/var/cache/apt/archives`,
        `--setup-hook=sync-in ${debs} /var/cache/apt/archives`,
        `--extract-hook=sync-out /var/cache/apt/archives ${debs}`,
        `--extract-hook=${hook} "$1" ${tmp} ${droppedPackages.join(',')}`,
        suite,
        path.join(tmp, 'rootfs.tar'),
        ...mirrors,
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
      },
    );
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  }
  return { tar, packages: readPackages(path.join(dir, 'packages.tsv')), key };
}

function utcDay(): string {
  return new Date().toISOString().slice(0, 10);
}

export function readPackages(file: string): DebianPackage[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name = '', version = '', architecture = '', source = '', sha256 = ''] =
        line.split('\t');
      return { name, version, architecture, source: source || name, sha256 };
    });
}
