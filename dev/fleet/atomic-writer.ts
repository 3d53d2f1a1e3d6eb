/**
 * A Secret or ConfigMap volume's files as kubelet writes them (pkg/volume/util/atomic_writer.go),
 * so a process sees what it would see in a pod, updates included:
 *
 *   <dir>/..2026_01_02_03_04_05.123456789/token   the payload, in a folder per version
 *   <dir>/..data -> ..2026_01_02_03_04_05.123456789
 *   <dir>/token -> ..data/token                    what the container reads
 *
 * An update writes a new version folder, points `..data_tmp` at it and renames that over
 * `..data` (atomic), adds links for new keys, drops links of removed ones and removes the old
 * folder. A reader of `<dir>/token` sees the old file or the new one, never half of either;
 * a reader holding the old file open keeps reading it (the reason the runtime and the router
 * open the path again instead of watching it).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const dataLink = '..data';

/** What `<dir>/..data` holds now, as path -> content; undefined before the first write. */
function current(dir: string, paths: readonly string[]): Map<string, Buffer> | undefined {
  try {
    fs.readlinkSync(path.join(dir, dataLink));
  } catch {
    return undefined;
  }
  const files = new Map<string, Buffer>();
  for (const p of paths) {
    try {
      files.set(p, fs.readFileSync(path.join(dir, dataLink, p)));
    } catch {
      return files;
    }
  }
  return files;
}

function same(now: Map<string, Buffer> | undefined, payload: Map<string, Buffer>): boolean {
  if (!now || now.size !== payload.size) return false;
  for (const [p, content] of payload) if (!now.get(p)?.equals(content)) return false;
  return true;
}

/** Top-level names the user sees (a key "a/b" shows as "a"). */
const visible = (paths: Iterable<string>) => new Set([...paths].map((p) => p.split('/')[0]!));

/**
 * Make `dir` hold exactly `payload` (path -> content), the way kubelet does. Returns whether
 * anything changed (an unchanged payload writes nothing, as kubelet skips it).
 */
export function writeVolume(
  dir: string,
  payload: Record<string, string | Buffer>,
  mode = 0o644,
): boolean {
  const files = new Map(Object.entries(payload).map(([p, c]) => [p, Buffer.from(c)]));
  fs.mkdirSync(dir, { recursive: true });
  const previous = fs.existsSync(path.join(dir, dataLink))
    ? fs.readlinkSync(path.join(dir, dataLink))
    : undefined;
  const before = previous ? current(dir, [...files.keys()]) : undefined;
  const oldNames = previous ? listVisible(dir) : new Set<string>();
  if (previous && same(before, files) && sameNames(oldNames, visible(files.keys()))) return false;

  const stamp = new Date().toISOString().replace(/[-:T]/g, '_').replace('Z', '');
  const version = `..${stamp}.${randomBytes(4).toString('hex')}`;
  for (const [p, content] of files) {
    const file = path.join(dir, version, p);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { mode });
  }
  fs.symlinkSync(version, path.join(dir, `${dataLink}_tmp`));
  fs.renameSync(path.join(dir, `${dataLink}_tmp`), path.join(dir, dataLink));
  const names = visible(files.keys());
  for (const name of names) {
    const link = path.join(dir, name);
    if (!fs.lstatSync(link, { throwIfNoEntry: false })) {
      fs.symlinkSync(path.join(dataLink, name), link);
    }
  }
  for (const name of oldNames) if (!names.has(name)) fs.rmSync(path.join(dir, name));
  if (previous) fs.rmSync(path.join(dir, previous), { recursive: true, force: true });
  return true;
}

function listVisible(dir: string): Set<string> {
  return new Set(fs.readdirSync(dir).filter((n) => !n.startsWith('..')));
}

function sameNames(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every((n) => b.has(n));
}
