/**
 * Secret volumes on the local fleet as kubelet lays them out (`..data` swapped atomically, keys
 * as links through it) and kept in step with the Secret while the pod runs, so that a rotation
 * reaches a running process's files the way it does in a cluster.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { writeVolume } from '../../dev/fleet/atomic-writer.ts';
import { PodVolumes, volumeSyncMs } from '../../dev/fleet/mounts.ts';

const dirs: string[] = [];
const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zimage-volume-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const visible = (dir: string) =>
  fs
    .readdirSync(dir)
    .filter((n) => !n.startsWith('..'))
    .sort();

describe("writeVolume (kubelet's AtomicWriter)", () => {
  it('writes a version folder, ..data pointing at it, and keys as links through ..data', () => {
    const dir = path.join(tmp(), 'auth');
    expect(writeVolume(dir, { token: 'a\n', 'pod-token': 'p\n' }, 0o440)).toBe(true);
    expect(visible(dir)).toEqual(['pod-token', 'token']);
    expect(fs.readlinkSync(path.join(dir, 'token'))).toBe('..data/token');
    expect(fs.readlinkSync(path.join(dir, '..data'))).toMatch(/^\.\.\d{4}_/);
    expect(fs.readFileSync(path.join(dir, 'token'), 'utf8')).toBe('a\n');
    expect(fs.statSync(path.join(dir, 'token')).mode & 0o777).toBe(0o440);
  });

  it('swaps ..data on a change, removes the old version and the links of removed keys', () => {
    const dir = path.join(tmp(), 'auth');
    writeVolume(dir, { token: 'a', old: 'x' });
    const first = fs.readlinkSync(path.join(dir, '..data'));
    // A reader holding the old file open keeps the old content; a new open sees the new.
    const held = fs.openSync(path.join(dir, 'token'), 'r');
    expect(writeVolume(dir, { token: 'b', added: 'y' })).toBe(true);
    expect(fs.readFileSync(held, 'utf8')).toBe('a');
    fs.closeSync(held);
    expect(fs.readFileSync(path.join(dir, 'token'), 'utf8')).toBe('b');
    expect(visible(dir)).toEqual(['added', 'token']);
    expect(fs.existsSync(path.join(dir, first))).toBe(false);
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('..')).length).toBe(2);
  });

  it('writes nothing for an unchanged payload', () => {
    const dir = path.join(tmp(), 'auth');
    writeVolume(dir, { token: 'a' });
    const version = fs.readlinkSync(path.join(dir, '..data'));
    expect(writeVolume(dir, { token: 'a' })).toBe(false);
    expect(fs.readlinkSync(path.join(dir, '..data'))).toBe(version);
  });
});

describe('a pod Secret volume kept in step with its Secret', () => {
  it('projects the items, follows a change within a sync, and keeps the files while it is gone', async () => {
    let secret: Record<string, string> | undefined = { token: 'a\n', other: 'z' };
    const pod = {
      metadata: { name: 'turbo-router-1', namespace: 'ml', uid: 'u-1' },
      spec: {
        containers: [
          {
            name: 'router',
            volumeMounts: [{ name: 'auth', mountPath: '/var/run/auth', readOnly: true }],
          },
        ],
        volumes: [
          {
            name: 'auth',
            secret: { secretName: 'tokens', items: [{ key: 'token', path: 'token' }] },
          },
        ],
      },
    } as V1Pod;
    const podDir = tmp();
    const volumes = new PodVolumes({
      core: {} as CoreV1Api,
      lookup: (kind, _ns, name) =>
        Promise.resolve(kind === 'Secret' && name === 'tokens' ? secret : undefined),
      pod,
      podDir,
      nodeDir: tmp(),
      log: () => undefined,
    });
    try {
      await volumes.setup();
      const { root } = volumes.containerRoot(0, new Map());
      const file = path.join(root, 'var/run/auth/token');
      expect(fs.readFileSync(file, 'utf8')).toBe('a\n');
      expect(visible(path.join(root, 'var/run/auth'))).toEqual(['token']);
      secret = { token: 'b\n', other: 'z' };
      await until(() => fs.readFileSync(file, 'utf8') === 'b\n', volumeSyncMs * 3);
      secret = undefined;
      await new Promise((r) => setTimeout(r, volumeSyncMs * 1.5));
      expect(fs.readFileSync(file, 'utf8')).toBe('b\n');
    } finally {
      volumes.stop();
    }
  }, 30_000);
});

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
