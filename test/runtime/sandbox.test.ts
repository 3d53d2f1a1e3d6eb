/**
 * The real runtime in a sandbox shaped like its pod (test/support/sandbox.ts): read-only root,
 * writable only /tmp and /var/cache/zimage, the model read-only at /models, uid/gid 65532 and no
 * capabilities. If it writes anywhere else (an ORT cache, a temp file beside the model, a
 * lock file in node_modules), start-up or generation fails here before it fails in a cluster.
 */
import path from 'node:path';
import { decode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountPaths, runtimeUid } from '../../src/contract/runtime.ts';
import { ensureDebianPackages } from '../../dev/tools.ts';
import { tinyModelDir } from '../support/references.ts';
import { projectRoot, startRuntime, type RuntimeProcess } from '../../dev/runtime-process.ts';
import {
  emptyDirs,
  hostStatusOf,
  inSandbox,
  namespacesUnavailable,
  sandboxArgv,
  sandboxSkip,
} from '../support/sandbox.ts';

ensureDebianPackages((line) => console.log(line), ['bubblewrap']);
const unavailable = sandboxSkip(process.env, namespacesUnavailable());
if (unavailable) console.warn(`skipping the sandbox tests: ${unavailable}`);

const sandbox = { modelDir: tinyModelDir };
/** Overflow uid: how a host uid with no mapping in the user namespace (here: root) shows. */
const overflowUid = '65534';

describe.skipIf(unavailable !== undefined)('the sandbox is real', () => {
  it.each([
    ['runs as uid 65532', 'id -u', String(runtimeUid)],
    ['runs as gid 65532', 'id -g', String(runtimeUid)],
    ['host root is not mapped in (not root in disguise)', 'stat -c %u /usr', overflowUid],
    [
      'has no effective capabilities',
      'grep ^CapEff: /proc/self/status',
      'CapEff:\t0000000000000000',
    ],
    ['cannot gain privileges', 'grep ^NoNewPrivs: /proc/self/status', 'NoNewPrivs:\t1'],
    ['has its own PID namespace', 'echo $$', '2'],
  ])('%s', (_name, script, expected) => {
    const { status, stdout, stderr } = inSandbox(sandbox, script);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(stdout.trim()).toBe(expected);
  });

  it.each([
    ['the project directory', `${projectRoot}/sandbox-probe`],
    ['the source tree', path.join(projectRoot, 'src/runtime/sandbox-probe')],
    [
      'the dependencies (a lock file in node_modules)',
      path.join(projectRoot, 'node_modules/sandbox-probe'),
    ],
    ['the root', '/sandbox-probe'],
    ['/var/cache beside the cache mount', '/var/cache/sandbox-probe'],
    ['the model volume', `${mountPaths.model}/sandbox-probe`],
  ])('cannot write to %s', (_name, file) => {
    const { status, stderr } = inSandbox(sandbox, `touch '${file}'`);
    expect(status).not.toBe(0);
    expect(stderr).toContain('Read-only file system');
  });

  it("has exactly the pod's emptyDirs", () => {
    expect(emptyDirs.map((d) => d.path).sort()).toEqual([mountPaths.cache, mountPaths.tmp].sort());
  });

  it.each(emptyDirs)('can write to the emptyDir $path, up to its sizeLimit', ({ path, bytes }) => {
    const { status, stdout, stderr } = inSandbox(
      sandbox,
      `echo ok > ${path}/probe && stat -f -c '%b %S' ${path}`,
    );
    expect(stderr).toBe('');
    expect(status).toBe(0);
    // tmpfs size = blocks x block size.
    const [blocks = 0, blockSize = 0] = stdout.trim().split(' ').map(Number);
    expect(blocks * blockSize).toBe(bytes);
  });

  it('sees the model read-only at /models', () => {
    const { status, stdout } = inSandbox(sandbox, `ls ${mountPaths.model}`);
    expect(status).toBe(0);
    expect(stdout.split('\n')).toContain('zimage.json');
  });
});

describe.skipIf(unavailable !== undefined)('the runtime in the sandbox', () => {
  let runtime: RuntimeProcess;

  beforeAll(async () => {
    runtime = await startRuntime({
      wrapper: sandboxArgv(sandbox),
      env: { ZIMAGE_MODEL_DIR: mountPaths.model },
      // bwrap builds ~40 mounts first; ORT sessions and the warm-up image follow.
      timeoutMs: 90_000,
    });
  });
  afterAll(async () => {
    await runtime?.stop();
  });

  it('runs as the non-root user on the host too, without capabilities', () => {
    const status = hostStatusOf(runtime.proc.pid, 'src/runtime/main.ts');
    expect(status, 'the runtime process under bwrap').toBeDefined();
    // "real effective saved filesystem"; root (host uid 0) only if run without setpriv.
    expect(status?.['Uid']?.split(/\s+/)[0]).toBe(
      process.getuid?.() === 0 ? String(runtimeUid) : String(process.getuid?.()),
    );
    expect(status?.['CapEff']).toBe('0000000000000000');
    expect(status?.['NoNewPrivs']).toBe('1');
  });

  it('is ready', async () => {
    const res = await runtime.get('/readyz');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ready', engine: { ep: 'cpu' } });
  });

  // ONNX Runtime 1.30's Linux telemetry (on unless ORT_DISABLE_TELEMETRY=1) tries to persist a
  // device id under $HOME/.cache/Microsoft/DeveloperTools/.onnxruntime (then ":memory:.ses" in
  // the cwd) and resolves mobile.events.data.microsoft.com; under a read-only root the writes
  // fail with this warning. The runtime turns telemetry off (worker/engine-client.ts).
  it('tries to write nothing outside its emptyDirs', () => {
    expect(runtime.proc.tail(500)).not.toContain('Failed to persist telemetry device ID');
  });

  it('generates a PNG', async () => {
    const res = await runtime.post('/v1/images/generations', {
      prompt: 'a red fox in snow',
      size: '64x64',
      seed: 1,
      steps: 2,
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as { data: { b64_json: string }[] };
    const png = Buffer.from(body.data[0]!.b64_json, 'base64');
    expect(png.subarray(0, 8)).toEqual(
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    );
    expect(decode(png)).toMatchObject({ width: 64, height: 64 });
  });
});
