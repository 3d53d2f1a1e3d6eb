import os from 'node:os';
import path from 'node:path';

/** The repository root (this file lives in dev/). */
export const repoRoot = path.resolve(import.meta.dirname, '..');

/**
 * The tiny Z-Image model the local fleet serves by default (random weights, every stage of the
 * real pipeline). It lives with the test fixtures because its reference tensors do.
 */
export const tinyModelDir = path.join(repoRoot, 'test/fixtures/zimage-tiny');

/**
 * Where built binaries, downloaded CRDs and the state of running clusters live. It survives
 * between runs on one machine, so the long first build happens once.
 * Default: `$XDG_CACHE_HOME/zimage-operator` (`~/.cache/zimage-operator`); `ZIMAGE_CACHE_DIR` overrides.
 */
export function cacheDir(): string {
  const override = process.env['ZIMAGE_CACHE_DIR'];
  if (override) return path.resolve(override);
  const xdg = process.env['XDG_CACHE_HOME'] ?? path.join(os.homedir(), '.cache');
  return path.join(xdg, 'zimage-operator');
}

/** Folder of one cluster's certificates, kubeconfigs, logs and pid file. */
export function clusterDir(name: string): string {
  return path.join(cacheDir(), 'clusters', name);
}
