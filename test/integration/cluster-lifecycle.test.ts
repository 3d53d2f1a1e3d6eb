import { CustomObjectsApi } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../../dev/cluster.ts';
import { get } from '../../dev/http.ts';
import { installMonitoringCrds } from '../../dev/monitoring-crds.ts';
import type { NodePool } from '../../dev/nodes.ts';
import { portFree } from '../../dev/ports.ts';
import { pidAlive } from '../../dev/process.ts';
import { repoRoot } from '../../dev/paths.ts';
import { binaryPath } from '../../dev/tools.ts';
import { createModelVolume } from '../../dev/volumes.ts';
import { clients, createNamespace, eventually } from '../support/k8s.ts';

// Disruptive tests get a cluster of their own, kept small.
const smallPools: NodePool[] = [
  {
    name: 'gpu',
    count: 1,
    gpusPerNode: 2,
    gpuProduct: 'NVIDIA-H100-80GB-HBM3',
    gpuMemoryMiB: 81559,
  },
];

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ nodePools: smallPools });
});
afterAll(async () => {
  await cluster?.stop();
});

describe('a cluster of its own', () => {
  it('reports the Kubernetes version the binaries were built as', async () => {
    const { kc } = clients(cluster.kubeconfigPath);
    const user = kc.getCurrentUser()!;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zimage-tls-'));
    const write = (name: string, b64: string) => {
      fs.writeFileSync(path.join(dir, name), Buffer.from(b64, 'base64'));
      return path.join(dir, name);
    };
    const res = await get(`${cluster.server}/version`, {
      ca: write('ca.crt', kc.getCurrentCluster()!.caData!),
      cert: write('client.crt', user.certData!),
      key: write('client.key', user.keyData!),
    });
    expect(JSON.parse(res.body)).toMatchObject({ gitVersion: 'v1.37.2', major: '1', minor: '37' });
  });

  it('binds a ReadOnlyMany model volume claim', async () => {
    const { core } = clients(cluster.kubeconfigPath);
    const namespace = await createNamespace(core, 'models');
    const claim = await createModelVolume(cluster.kubeConfig, { namespace, name: 'zimage-models' });
    expect(claim.status?.phase).toBe('Bound');
    expect(claim.spec?.accessModes).toEqual(['ReadOnlyMany']);
    expect(claim.spec?.volumeName).toBe(`${namespace}-zimage-models`);
  });

  it('installs the pinned Prometheus Operator CRDs; a ServiceMonitor can then be created', async () => {
    installMonitoringCrds(cluster.kubeconfigPath);
    const custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
    const created = (await custom.createNamespacedCustomObject({
      group: 'monitoring.coreos.com',
      version: 'v1',
      namespace: 'default',
      plural: 'servicemonitors',
      body: {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'ServiceMonitor',
        metadata: { name: 'probe' },
        spec: { selector: { matchLabels: { app: 'x' } }, endpoints: [{ port: 'http' }] },
      },
    })) as { metadata: { uid: string } };
    expect(created.metadata.uid).toBeTruthy();
  });

  it('restarts the API server on the same port and data', async () => {
    const { core } = clients(cluster.kubeconfigPath);
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'survivor' }, data: { a: '1' } },
    });
    const before = cluster.pids()['kube-apiserver'];
    await cluster.restart('kube-apiserver', 1_000);
    expect(cluster.pids()['kube-apiserver']).not.toBe(before);
    expect(pidAlive(before)).toBe(false);
    const cm = await eventually('the config map after restart', () =>
      core.readNamespacedConfigMap({ name: 'survivor', namespace: 'default' }),
    );
    expect(cm.data).toEqual({ a: '1' });
  });

  it('leaves no process and no listening port after stop()', async () => {
    const pids = Object.values(cluster.pids());
    const ports = Object.values(cluster.ports);
    expect(pids).toHaveLength(5);
    await cluster.stop();
    for (const pid of pids) expect(pidAlive(pid)).toBe(false);
    for (const port of ports) expect(await portFree(port)).toBe(true);
  });
});

describe('failures', () => {
  it('names the component and shows its log tail when one fails to start', async () => {
    // A stand-in kube-apiserver that dies at once, found through KUBEBUILDER_ASSETS; the real
    // etcd is linked beside it.
    const assets = fs.mkdtempSync(path.join(os.tmpdir(), 'zimage-assets-'));
    fs.symlinkSync(binaryPath('etcd'), path.join(assets, 'etcd'));
    fs.writeFileSync(
      path.join(assets, 'kube-apiserver'),
      '#!/bin/sh\necho "E0101 run.go:72] command failed: simulated bad flag" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    const saved = process.env['KUBEBUILDER_ASSETS'];
    process.env['KUBEBUILDER_ASSETS'] = assets;
    try {
      const start = startCluster({ nodePools: smallPools });
      await expect(start).rejects.toThrow(
        /kube-apiserver exited before it was healthy[\s\S]*simulated bad flag/,
      );
    } finally {
      if (saved === undefined) delete process.env['KUBEBUILDER_ASSETS'];
      else process.env['KUBEBUILDER_ASSETS'] = saved;
    }
  });

  it('tears everything down when the owning process gets Ctrl-C (SIGINT)', async () => {
    const script = path.join(repoRoot, 'test', 'support', 'start-and-wait.ts');
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const pids = await eventually(
      'the child cluster up',
      () => {
        const line = out.split('\n').find((l) => l.startsWith('PIDS '));
        return line ? (JSON.parse(line.slice(5)) as number[]) : undefined;
      },
      90_000,
    );
    expect(pids).toHaveLength(5);
    child.kill('SIGINT');
    await new Promise((resolve) => child.once('exit', resolve));
    await eventually(
      'all components gone',
      () => (pids.every((p) => !pidAlive(p)) ? true : undefined),
      10_000,
    );
  });
});
