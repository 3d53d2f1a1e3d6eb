import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { killGroup, pidAlive, spawnManaged, waitFor } from '../../dev/process.ts';
import { cleanupStale, writeState } from '../../dev/state.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'zimage-proc-'));
const strays: number[] = [];
afterEach(() => {
  for (const pid of strays.splice(0)) killGroup(pid, 'SIGKILL');
});

describe('managed processes', () => {
  it('fails a health wait at once, with the log tail, when the process dies first', async () => {
    const dir = tmp();
    const proc = spawnManaged(
      'crasher',
      'sh',
      ['-c', 'echo "listen tcp: address already in use" >&2; exit 3'],
      {
        logPath: path.join(dir, 'crasher.log'),
      },
    );
    const started = Date.now();
    await expect(
      waitFor('crasher health', () => Promise.resolve(false), { timeoutMs: 30_000, proc }),
    ).rejects.toThrow(/crasher exited before it was healthy[\s\S]*address already in use/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await proc.exited).toBe(3);
  });

  it('times out a health wait with the last error', async () => {
    await expect(
      waitFor('never', () => Promise.reject(new Error('connection refused')), {
        timeoutMs: 300,
        intervalMs: 50,
      }),
    ).rejects.toThrow(/never: not ready after 300 ms \(last error: connection refused\)/);
  });

  it('stop() takes the whole process group, helpers included', async () => {
    const dir = tmp();
    const pidFile = path.join(dir, 'helper.pid');
    const proc = spawnManaged('parent', 'sh', ['-c', `sleep 300 & echo $! > ${pidFile}; wait`], {
      logPath: path.join(dir, 'parent.log'),
    });
    const helper = await (async () => {
      for (let i = 0; i < 50; i++) {
        if (fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').trim()) {
          return Number(fs.readFileSync(pidFile, 'utf8'));
        }
        await sleep(50);
      }
      throw new Error('helper never started');
    })();
    expect(pidAlive(helper)).toBe(true);
    await proc.stop(2_000);
    expect(proc.alive()).toBe(false);
    for (let i = 0; i < 20 && pidAlive(helper); i++) await sleep(50);
    expect(pidAlive(helper)).toBe(false);
  });
});

describe('stale cluster cleanup', () => {
  it('kills recorded processes that belong to the cluster folder and spares a reused pid', async () => {
    const dir = tmp();
    const ours = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', dir], {
      detached: true,
    });
    const stranger = spawn('sleep', ['300'], { detached: true });
    strays.push(ours.pid!, stranger.pid!);
    writeState(dir, {
      name: 't',
      kubeconfig: '',
      server: '',
      ownerPid: 1,
      persist: true,
      pids: { etcd: ours.pid!, 'kube-apiserver': stranger.pid! },
    });
    expect(await cleanupStale(dir)).toBe(1);
    expect(pidAlive(ours.pid!)).toBe(false);
    expect(pidAlive(stranger.pid!)).toBe(true);
    expect(fs.existsSync(path.join(dir, 'state.json'))).toBe(false);
  });

  it('also stops an operator started by hand against the cluster, and only such', async () => {
    const dir = tmp();
    // A stand-in for src/operator/main.ts: what marks an operator is its script and kubeconfig.
    const main = path.join(tmp(), 'src', 'operator', 'main.ts');
    fs.mkdirSync(path.dirname(main), { recursive: true });
    fs.writeFileSync(main, 'setInterval(() => {}, 1000);\n');
    const run = (args: string[], kubeconfig: string, command = process.execPath) => {
      const env = { ...process.env, KUBECONFIG: kubeconfig };
      const child = spawn(command, args, { detached: true, env });
      strays.push(child.pid!);
      return child.pid!;
    };
    const byEnv = run([main], path.join(dir, 'kubeconfig'));
    const byFlag = run([main, `--kubeconfig=${dir}/operator.kubeconfig`], '');
    const otherCluster = run([main], `${dir}-2/kubeconfig`);
    const notNode = run(['-c', 'sleep 300', main], path.join(dir, 'kubeconfig'), 'sh');
    // Until each has exec'd (its /proc cmdline names the script).
    const started = (pid: number) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('main.ts');
      } catch {
        return false;
      }
    };
    const all = [byEnv, byFlag, otherCluster, notNode];
    for (let i = 0; i < 100 && !all.every(started); i++) await sleep(50);
    // No state.json: the cluster was stopped, or a restart lost the record.
    expect(await cleanupStale(dir)).toBe(2);
    expect([byEnv, byFlag].map(pidAlive)).toEqual([false, false]);
    expect([otherCluster, notNode].map(pidAlive)).toEqual([true, true]);
  });
});
