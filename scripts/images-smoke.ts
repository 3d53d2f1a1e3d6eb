/**
 * The images, built and run for real (CI runs this after `npm test`; docs/images.md):
 *
 * 1. build all three (npm run images:build), then `podman load` the operator's and the CPU
 *    runtime's OCI archives into an empty store, so what runs is what a registry would serve;
 * 2. the CPU runtime serves the tiny model: read-only root, uid 65532, tmpfs for /tmp and
 *    /var/cache/zimage, a memory limit, --init; a PNG comes back; SIGTERM stops it;
 * 3. while it serves, the operator image runs a router in front of it as the operator deploys
 *    routers (scripts/images-smoke-router.ts): 2 images through it, its wait on /metrics, the
 *    runtime's own 400s, SIGTERM;
 * 4. the operator runs against the local cluster under its ServiceAccount and reconciles
 *    deploy/examples/turbo.yaml to Ready;
 * 5. the CUDA 13 image, without a GPU: every shared library of the CUDA EP and of CUDA/cuDNN
 *    resolves with the image's own loader and library path, except the driver's libcuda.so.1.
 * Without --init each image must still stop on SIGTERM (PID 1 ignores signals it has no handler for).
 */
import fs from 'node:fs';
import path from 'node:path';
import { startCluster } from '../dev/cluster.ts';
import { buildImages, type BuiltImage } from '../dev/images/build.ts';
import {
  startContainer,
  runOnce,
  type Container,
  type ContainerOptions,
} from '../dev/images/container.ts';
import { podman, storeAt, type Store } from '../dev/images/engine.ts';
import { imagesCacheDir } from '../dev/images/inputs.ts';
import { ensureImageTools } from '../dev/images/tools.ts';
import { installOperatorManifests, kubectl, operatorKubeconfig } from '../dev/operator.ts';
import { repoRoot, tinyModelDir } from '../dev/paths.ts';
import { freePorts } from '../dev/ports.ts';
import { ensureTools } from '../dev/tools.ts';
import { createModelVolume } from '../dev/volumes.ts';
import { eventually } from '../dev/wait.ts';
import { routerSmoke, type SmokeKit } from './images-smoke-router.ts';

const started = Date.now();
const seconds: Record<string, number> = {};
const results: Record<string, unknown> = {};
const elapsed = () => Math.round((Date.now() - started) / 1000);
async function phase<T>(name: string, run: () => Promise<T> | T): Promise<T> {
  console.log(`==> [${elapsed()} s] images:smoke: ${name}`);
  const t = Date.now();
  const value = await run();
  seconds[name] = Math.round((Date.now() - t) / 100) / 10;
  return value;
}
function check(ok: boolean, what: string, detail = ''): void {
  if (!ok) throw new Error(`images:smoke: ${what}${detail ? `\n${detail}` : ''}`);
  console.log(`  ok: ${what}`);
}

const outDir = path.join(repoRoot, 'dist', 'images');
const running: Container[] = [];
// The cache folder does not exist yet on a fresh machine (a cold run failed here).
fs.mkdirSync(imagesCacheDir(), { recursive: true });
const smokeStore: Store = storeAt(fs.mkdtempSync(path.join(imagesCacheDir(), 'smoke-')));

async function waitHttp(url: string, what: string, container: Container, timeoutMs = 90_000) {
  try {
    await eventually(
      what,
      async () => ((await fetch(url)).status === 200 ? true : undefined),
      timeoutMs,
    );
  } catch (error) {
    throw new Error(
      `${(error as Error).message}\ncontainer log:\n${container.logs().slice(-4000)}`,
      { cause: error },
    );
  }
}

function start(options: ContainerOptions): Container {
  const c = startContainer(smokeStore, options);
  running.push(c);
  return c;
}

/** Stop with SIGTERM and a 10 s grace: a clean stop exits 0 well before podman's SIGKILL. */
function stopsOnSigterm(c: Container, what: string): void {
  const { seconds: s, exitCode } = c.stop(10);
  results[`${c.name}-stop`] = { seconds: s, exitCode };
  check(
    exitCode === 0 && s < 9,
    `${what} stops on SIGTERM (exit ${exitCode} after ${s.toFixed(1)} s)`,
    c.logs().slice(-2000),
  );
  c.remove();
}

const kit: SmokeKit = { start, check, waitHttp, stopsOnSigterm };

/** `whileServing` runs with the --init container up, before it is stopped (the router's part). */
async function runtimeCpu(
  image: BuiltImage,
  whileServing: (url: string) => Promise<void>,
): Promise<void> {
  for (const init of [true, false]) {
    const [port] = await freePorts(1);
    const c = start({
      image: image.ref,
      name: `zimage-smoke-runtime-${init ? 'init' : 'noinit'}`,
      init,
      memory: '1g',
      tmpfs: ['/tmp', '/var/cache/zimage'],
      mounts: { [tinyModelDir]: '/models' },
      env: { ZIMAGE_HOST: '127.0.0.1', ZIMAGE_PORT: String(port), ZIMAGE_INTRA_OP_THREADS: '1' },
    });
    const url = `http://127.0.0.1:${port}`;
    await waitHttp(`${url}/readyz`, 'runtime /readyz', c);
    if (init) {
      const res = await fetch(`${url}/v1/images/generations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'a red fox in snow', size: '128x64', seed: 7 }),
      });
      const body = (await res.json()) as { data?: { b64_json?: string }[] };
      const png = Buffer.from(body.data?.[0]?.b64_json ?? '', 'base64');
      const signature = png.subarray(0, 8).toString('hex');
      const size = `${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`;
      check(
        res.status === 200 && signature === '89504e470d0a1a0a' && size === '128x64',
        `runtime returns a 128x64 PNG (${png.length} bytes)`,
      );
      await whileServing(url);
    }
    stopsOnSigterm(c, `runtime ${init ? 'with' : 'without'} --init`);
  }
}

async function operator(image: BuiltImage): Promise<void> {
  const cluster = await startCluster({ log: (line) => console.log(line) });
  try {
    installOperatorManifests(cluster.kubeconfigPath);
    const kubeconfig = await operatorKubeconfig(cluster.kubeconfigPath, undefined, {
      dir: cluster.dir,
    });
    // The container runs as 65532 and reads the file through the bind mount.
    fs.chownSync(kubeconfig, 65532, 65532);
    await createModelVolume(cluster.kubeConfig, { namespace: 'default', name: 'zimage-models' });
    for (const init of [true, false]) {
      const [port] = await freePorts(1);
      const c = start({
        image: image.ref,
        name: `zimage-smoke-operator-${init ? 'init' : 'noinit'}`,
        init,
        memory: '512m',
        mounts: { [kubeconfig]: '/var/run/zimage/kubeconfig' },
        args: [
          '--kubeconfig=/var/run/zimage/kubeconfig',
          '--http-host=127.0.0.1',
          `--http-port=${port}`,
        ],
      });
      await waitHttp(`http://127.0.0.1:${port}/readyz`, 'operator /readyz', c);
      if (init) {
        kubectl(
          cluster.kubeconfigPath,
          'apply',
          '-f',
          path.join(repoRoot, 'deploy', 'examples', 'turbo.yaml'),
        );
        try {
          kubectl(
            cluster.kubeconfigPath,
            'wait',
            '--for=condition=Ready',
            '--timeout=120s',
            'zid/turbo',
          );
        } catch (error) {
          throw new Error(`zid/turbo not Ready; operator log:\n${c.logs().slice(-4000)}`, {
            cause: error,
          });
        }
        const deploy = kubectl(
          cluster.kubeconfigPath,
          'get',
          'deploy',
          'turbo',
          '-o',
          'jsonpath={.spec.template.spec.containers[0].image}',
        );
        check(
          deploy.length > 0,
          `operator reconciled zid/turbo to Ready (Deployment turbo runs ${deploy})`,
        );
      }
      stopsOnSigterm(c, `operator ${init ? 'with' : 'without'} --init`);
    }
  } finally {
    await cluster.stop();
  }
}

/**
 * Node in the image runs the image's own loader in ldd's mode (LD_TRACE_LOADED_OBJECTS=1: list
 * every dependency, "not found" for a missing one, rather than stop at the first) on every
 * library of the CUDA EP folder and of /usr/local/cuda/lib64, under the image's LD_LIBRARY_PATH;
 * no shell needed. A library that lists nothing, or a loader error, counts as a failure.
 */
const lddScript = `
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const dirs = ['/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64', '/usr/local/cuda/lib64'];
const out = {};
for (const dir of dirs) for (const f of fs.readdirSync(dir)) {
  if (!/\\.so|\\.node$/.test(f)) continue;
  const env = { ...process.env, LD_TRACE_LOADED_OBJECTS: '1' };
  const r = spawnSync('/lib64/ld-linux-x86-64.so.2', [dir + '/' + f], { env });
  const lines = r.stdout.toString().split('\\n').filter((l) => l.includes('=>'));
  out[dir + '/' + f] = {
    status: r.status,
    stderr: r.stderr.toString().trim(),
    resolved: lines.filter((l) => !l.includes('not found')).length,
    missing: lines.filter((l) => l.includes('not found')).map((l) => l.trim().split(' ')[0]),
  };
}
console.log(JSON.stringify(out));
`;

/**
 * What the image itself says about its hardening, asked of Node inside it: the uid it runs as, no
 * shell or package manager on the root, a root that refuses writes, /tmp that takes them.
 */
const hardeningScript = `
const fs = require('node:fs');
const tools = ['/bin/sh', '/bin/bash', '/bin/dash', '/usr/bin/sh', '/bin/busybox', '/usr/bin/dpkg',
  '/usr/bin/apt', '/usr/bin/apt-get', '/usr/bin/perl', '/usr/bin/python3', '/usr/sbin/ldconfig', '/sbin/ldconfig'];
const write = (p) => { try { fs.writeFileSync(p, 'x'); return 'ok'; } catch (e) { return e.code; } };
console.log(JSON.stringify({
  uid: process.getuid(), gid: process.getgid(),
  present: tools.filter((t) => fs.existsSync(t)),
  rootWrite: write('/app/probe'), tmpWrite: write('/tmp/probe'),
}));
`;

function hardening(store: Store, image: BuiltImage): void {
  const r = runOnce(store, {
    image: image.ref,
    name: `zimage-smoke-hardening-${image.name}`,
    entrypoint: '/usr/local/bin/node',
    args: ['-e', hardeningScript],
  });
  check(r.status === 0, `node runs in ${image.name}`, r.stderr);
  const seen = JSON.parse(r.stdout) as {
    uid: number;
    gid: number;
    present: string[];
    rootWrite: string;
    tmpWrite: string;
  };
  results[`hardening-${image.name}`] = seen;
  check(
    seen.uid === 65532 &&
      seen.gid === 65532 &&
      seen.present.length === 0 &&
      seen.rootWrite === 'EROFS' &&
      seen.tmpWrite === 'ok',
    `${image.name}: uid 65532, no shell or package manager, read-only root (${seen.rootWrite}), writable /tmp`,
    JSON.stringify(seen),
  );
}

interface LddResult {
  status: number;
  stderr: string;
  resolved: number;
  missing: string[];
}

function cudaLibraries(store: Store, image: BuiltImage): void {
  const r = runOnce(store, {
    image: image.ref,
    name: 'zimage-smoke-cuda-ldd',
    entrypoint: '/usr/local/bin/node',
    args: ['-e', lddScript],
  });
  check(r.status === 0, 'node runs in the CUDA image', r.stderr);
  const listed = JSON.parse(r.stdout) as Record<string, LddResult>;
  const files = Object.keys(listed);
  const bad = Object.entries(listed).filter(
    ([, l]) => l.status !== 0 || l.resolved === 0 || l.missing.some((m) => m !== 'libcuda.so.1'),
  );
  const provider = listed[files.find((f) => f.endsWith('/libonnxruntime_providers_cuda.so')) ?? ''];
  results['cuda-ldd'] = listed;
  check(provider !== undefined, 'the CUDA EP (libonnxruntime_providers_cuda.so) is in the image');
  check(
    provider!.resolved > 0 && provider!.missing.join() === 'libcuda.so.1',
    `the CUDA EP resolves ${provider!.resolved} libraries and needs only libcuda.so.1 from the GPU host`,
    JSON.stringify(provider),
  );
  check(
    bad.length === 0,
    `${files.length} shared libraries resolve in the CUDA image (only libcuda.so.1 left to the GPU host)`,
    JSON.stringify(Object.fromEntries(bad), null, 2),
  );
}

try {
  await phase('tools', async () => {
    ensureImageTools();
    await ensureTools();
  });
  const buildStore = storeAt(imagesCacheDir('store'));
  const built = await phase('build', () => buildImages({ store: buildStore, outDir }));
  const byName = Object.fromEntries(built.map((b) => [b.name, b]));
  // The images that run are loaded from their archives into an empty store, as a registry would
  // serve them. The CUDA image is checked in the build store instead (the same image ID as its
  // archive): loading its 1.7 GB archive took 100 of the 130 s this phase took with it.
  await phase('load archives', () => {
    const run = built.filter((b) => b.name !== 'runtime-cuda13');
    for (const b of run) podman(smokeStore, 'load', '--quiet', '--input', b.archive);
    const loaded = podman(smokeStore, 'images', '--format', '{{.Repository}}:{{.Tag}}').split('\n');
    check(
      run.every((b) => loaded.includes(b.ref)),
      `podman load gives ${run.map((b) => b.ref).join(', ')}`,
    );
  });
  await phase('hardening', () => {
    for (const b of built) hardening(b.name === 'runtime-cuda13' ? buildStore : smokeStore, b);
  });
  // runtime-cpu's seconds include the router's: the router stands in front of that runtime.
  await phase('runtime-cpu', () =>
    runtimeCpu(byName['runtime-cpu']!, (url) =>
      phase('router', () => routerSmoke(kit, byName['operator']!, url)),
    ),
  );
  await phase('operator', () => operator(byName['operator']!));
  await phase('runtime-cuda13', () => cudaLibraries(buildStore, byName['runtime-cuda13']!));
  results['images'] = built.map(({ name, ref, manifestDigest, bytes, compressedBytes }) => ({
    name,
    ref,
    manifestDigest,
    bytes,
    compressedBytes,
  }));
  results['seconds'] = { ...seconds, total: elapsed() };
  fs.writeFileSync(path.join(outDir, 'smoke.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`images:smoke: all checks passed in ${elapsed()} s (${JSON.stringify(seconds)})`);
} catch (error) {
  // The message says what failed and carries the logs; Node's dump of the cause adds buffers.
  console.error(`images:smoke FAILED after ${elapsed()} s: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  // Best effort: a cleanup error must not hide the failure that got us here.
  try {
    for (const c of running) c.remove();
    podman(smokeStore, 'rmi', '--all', '--force');
  } catch (error) {
    console.error(`images:smoke: cleanup: ${(error as Error).message}`);
  }
  fs.rmSync(path.dirname(smokeStore.root), { recursive: true, force: true });
  fs.rmSync(smokeStore.runroot, { recursive: true, force: true });
}
