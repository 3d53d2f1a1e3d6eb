/**
 * The CUDA 13 image's inputs from PyPI: NVIDIA's user-space libraries and cuDNN 9
 * (deploy/images/cuda13-wheels.txt, pinned with hashes) and ONNX Runtime's CUDA EP from the
 * onnxruntime-gpu wheel of onnxruntime-node's version (deploy/images/install-cuda-ep.sh).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../paths.ts';
import { hashOf } from './engine.ts';
import { imagesCacheDir, ortBinDir, readLock, requireFile, type ProdDeps } from './inputs.ts';

type Log = (line: string) => void;

export const wheelsFile = path.join(repoRoot, 'deploy/images/cuda13-wheels.txt');
// pip takes these tags literally: cuBLAS ships as manylinux1 (= manylinux_2_5), which
// manylinux_2_17 does not admit, so the legacy names are listed too (a cold build failed without).
const platforms = [
  'manylinux_2_28_x86_64',
  'manylinux_2_27_x86_64',
  'manylinux_2_17_x86_64',
  'manylinux2014_x86_64',
  'manylinux1_x86_64',
];

export interface Wheel {
  name: string;
  version: string;
  sha256: string;
  file: string;
}

/** The pins of cuda13-wheels.txt: `name==version --hash=sha256:...` lines. */
export function wheelPins(): Omit<Wheel, 'file'>[] {
  const text = fs.readFileSync(requireFile(wheelsFile, 'it is part of the checkout'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() && !line.startsWith('#'))
    .map((line) => {
      const match = /^([A-Za-z0-9_.-]+)==(\S+) --hash=sha256:([0-9a-f]{64})$/.exec(line.trim());
      if (!match)
        throw new Error(`${wheelsFile}: "${line}" is not "name==version --hash=sha256:..."`);
      return { name: match[1]!, version: match[2]!, sha256: match[3]! };
    });
}

/** Wheel file names start with the name (dashes as underscores) and the version. */
function wheelFile(dir: string, pin: { name: string; version: string }): string | undefined {
  const prefix = `${pin.name.replace(/-/g, '_')}-${pin.version}-`;
  return fs.readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('.whl'));
}

/** Download the pinned wheels into the cache (pip skips the ones already there). */
export function cudaWheels(log: Log): Wheel[] {
  const pins = wheelPins();
  const ort = readLock().packages['node_modules/onnxruntime-node']?.version;
  const gpu = pins.find((p) => p.name === 'onnxruntime-gpu');
  if (!gpu || gpu.version !== ort) {
    throw new Error(
      `${wheelsFile} pins onnxruntime-gpu ${gpu?.version ?? '(none)'} but package-lock.json has onnxruntime-node ${ort}: ` +
        'the CUDA EP must be built for the same ORT; pin the matching onnxruntime-gpu (and its hash)',
    );
  }
  const dir = imagesCacheDir('wheels');
  fs.mkdirSync(dir, { recursive: true });
  const have = (pin: (typeof pins)[number]) => wheelFile(dir, pin) !== undefined;
  if (!pins.every(have)) {
    log(
      `[images] pip download ${pins
        .filter((p) => !have(p))
        .map((p) => p.name)
        .join(', ')}`,
    );
    const args = [
      '-m',
      'pip',
      'download',
      '-q',
      '--no-deps',
      '--require-hashes',
      '--only-binary=:all:',
    ];
    args.push('--python-version', '3.12', '--implementation', 'cp');
    for (const p of platforms) args.push('--platform', p);
    execFileSync('python3', [...args, '-r', wheelsFile, '-d', dir], { stdio: 'inherit' });
  }
  return pins.map((pin) => {
    const file = wheelFile(dir, pin);
    if (!file)
      throw new Error(`pip download left no wheel of ${pin.name} ${pin.version} in ${dir}`);
    // pip checked the hash of what it downloaded; a cached file is checked here, once: a
    // sidecar records the size and mtime it was checked at (hashing 1.5 GB took ~10 s a run).
    const sha256 = verifiedSha256(path.join(dir, file));
    if (sha256 !== pin.sha256) {
      throw new Error(
        `${path.join(dir, file)}: sha256 ${sha256}, pinned ${pin.sha256}; delete it and build again`,
      );
    }
    return { ...pin, file: path.join(dir, file) };
  });
}

function verifiedSha256(file: string): string {
  const stat = fs.statSync(file);
  const stamp = `${stat.size} ${stat.mtimeMs}`;
  const sidecar = `${file}.sha256`;
  const [seen, hash] = fs.existsSync(sidecar) ? fs.readFileSync(sidecar, 'utf8').split('\n') : [];
  if (seen === stamp && hash) return hash;
  const fresh = sha256File(file);
  fs.writeFileSync(sidecar, `${stamp}\n${fresh}`);
  return fresh;
}

function sha256File(file: string): string {
  return execFileSync('sha256sum', [file]).toString().split(' ')[0]!;
}

/** usr/local/cuda/lib64 and the licences, from every NVIDIA wheel; cached by the pins. */
export function cudaLibs(wheels: Wheel[], log: Log): { root: string; key: string } {
  const nvidia = wheels.filter((w) => w.name.startsWith('nvidia-'));
  const key = hashOf(...nvidia.map((w) => w.sha256), { file: extractScript }).slice(0, 16);
  const root = imagesCacheDir('cuda-libs', key);
  if (fs.existsSync(root)) return { root, key };
  log(`[images] extracting ${nvidia.length} NVIDIA wheels`);
  const tmp = `${root}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  execFileSync('python3', [extractScript, tmp, ...nvidia.map((w) => w.file)], { stdio: 'ignore' });
  fs.renameSync(tmp, root);
  return { root, key };
}

const extractScript = path.join(repoRoot, 'deploy/images/cuda/extract-wheel-libs.py');
const installScript = path.join(repoRoot, 'deploy/images/install-cuda-ep.sh');

/**
 * The two CUDA EP libraries (and cuda-ep.json) placed beside the binding, by the same script the
 * Dockerfile runs, fed the pinned wheel. The stage holds only those files.
 */
export function cudaEp(
  wheels: Wheel[],
  deps: ProdDeps,
  stageDir: string,
): { root: string; key: string } {
  const wheel = wheels.find((w) => w.name === 'onnxruntime-gpu')!;
  const root = path.join(stageDir, 'cuda-ep');
  fs.rmSync(root, { recursive: true, force: true });
  const modules = path.join(root, 'app', 'node_modules');
  const bin = path.join(root, 'app', ortBinDir, 'linux', 'x64');
  fs.mkdirSync(bin, { recursive: true });
  const ort = path.join(deps.root, 'app', 'node_modules', 'onnxruntime-node');
  const borrowed = [
    path.join(modules, 'onnxruntime-node', 'package.json'),
    path.join(bin, 'libonnxruntime.so.1'),
  ];
  fs.copyFileSync(path.join(ort, 'package.json'), borrowed[0]!);
  fs.copyFileSync(path.join(ort, 'bin/napi-v6/linux/x64/libonnxruntime.so.1'), borrowed[1]!);
  execFileSync('bash', [installScript, '--node-modules', modules, '--wheel', wheel.file], {
    stdio: 'ignore',
  });
  for (const file of borrowed) fs.rmSync(file);
  for (const f of fs.readdirSync(bin)) fs.chmodSync(path.join(bin, f), 0o644);
  return { root, key: hashOf(wheel.sha256, { file: installScript }).slice(0, 16) };
}
