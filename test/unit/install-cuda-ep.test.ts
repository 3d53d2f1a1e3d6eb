/**
 * deploy/images/install-cuda-ep.sh (what the CUDA 13 runtime image runs) against fake layouts:
 * a node_modules with onnxruntime-node's package.json and binding folder, and a wheel built
 * here with Python's zipfile in the shape of PyPI's onnxruntime-gpu. The download itself needs
 * PyPI, so --dry-run checks the pip command it would run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const script = path.resolve('deploy/images/install-cuda-ep.sh');
const binding = 'onnxruntime-node/bin/napi-v6/linux/x64';

function layout(version: string | undefined, withCore = true): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cuda-ep-'));
  const pkg = path.join(dir, 'node_modules/onnxruntime-node');
  mkdirSync(path.join(dir, 'node_modules', binding), { recursive: true });
  if (version)
    writeFileSync(
      path.join(pkg, 'package.json'),
      JSON.stringify({ name: 'onnxruntime-node', version }),
    );
  if (withCore)
    writeFileSync(path.join(dir, 'node_modules', binding, 'libonnxruntime.so.1'), 'core');
  return dir;
}

/** A wheel with METADATA and the two provider libraries (or some of them). */
function wheel(dir: string, name: string, version: string, libs = ['cuda', 'shared']): string {
  const file = path.join(dir, `onnxruntime_gpu-${version}-cp312-cp312-manylinux_2_28_x86_64.whl`);
  const entries: [string, string][] = [
    [
      `onnxruntime_gpu-${version}.dist-info/METADATA`,
      `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`,
    ],
    ...libs.map((l): [string, string] => [
      `onnxruntime/capi/libonnxruntime_providers_${l}.so`,
      `ELF ${l} ${version}`,
    ]),
  ];
  const members = Object.fromEntries(entries);
  execFileSync('python3', [
    '-c',
    'import json,sys,zipfile\nwith zipfile.ZipFile(sys.argv[1],"w") as z:\n  [z.writestr(k,v) for k,v in json.loads(sys.argv[2]).items()]',
    file,
    JSON.stringify(members),
  ]);
  return file;
}

function run(dir: string, args: string[]) {
  const r = spawnSync('bash', [script, '--node-modules', path.join(dir, 'node_modules'), ...args], {
    encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('install-cuda-ep.sh', () => {
  it('installs both provider libraries beside the binding, with versions and checksums', () => {
    const dir = layout('1.30.0');
    const r = run(dir, ['--wheel', wheel(dir, 'onnxruntime-gpu', '1.30.0')]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const target = path.join(dir, 'node_modules', binding);
    expect(readFileSync(path.join(target, 'libonnxruntime_providers_cuda.so'), 'utf8')).toBe(
      'ELF cuda 1.30.0',
    );
    expect(readFileSync(path.join(target, 'libonnxruntime_providers_shared.so'), 'utf8')).toBe(
      'ELF shared 1.30.0',
    );
    const info = JSON.parse(readFileSync(path.join(target, 'cuda-ep.json'), 'utf8')) as {
      'onnxruntime-gpu': string;
      sha256: Record<string, string>;
    };
    expect(info['onnxruntime-gpu']).toBe('1.30.0');
    expect(Object.keys(info.sha256).sort()).toEqual([
      'libonnxruntime_providers_cuda.so',
      'libonnxruntime_providers_shared.so',
    ]);
    expect(info.sha256['libonnxruntime_providers_cuda.so']).toMatch(/^[0-9a-f]{64}$/);
  });

  it("--dry-run names onnxruntime-node's own version for pip and the target, changing nothing", () => {
    const dir = layout('1.31.2');
    const r = run(dir, ['--dry-run']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('onnxruntime-node 1.31.2');
    expect(r.out).toMatch(
      /pip download --no-deps --only-binary=:all: .*--platform manylinux_2_28_x86_64 .*onnxruntime-gpu==1\.31\.2/,
    );
    expect(r.out).toContain(`target: ${path.join(dir, 'node_modules', binding)}`);
    expect(
      existsSync(path.join(dir, 'node_modules', binding, 'libonnxruntime_providers_cuda.so')),
    ).toBe(false);
  });

  // [name, layout version, core present, wheel (name, version, libs) or none, args, message]
  const refusals: [
    string,
    string | undefined,
    boolean,
    [string, string, string[]] | undefined,
    string[],
    RegExp,
  ][] = [
    [
      'no onnxruntime-node',
      undefined,
      true,
      undefined,
      [],
      /package\.json not found: install onnxruntime-node first/,
    ],
    [
      'a version before 1.29 (PyPI builds for CUDA 12)',
      '1.28.1',
      true,
      undefined,
      ['--dry-run'],
      /onnxruntime-node 1\.28\.1: PyPI's onnxruntime-gpu before 1\.29 is built for CUDA 12; use deploy\/images\/runtime\.Dockerfile/,
    ],
    [
      'a version that is not MAJOR.MINOR.PATCH',
      'latest',
      true,
      undefined,
      ['--dry-run'],
      /version 'latest' is not MAJOR\.MINOR\.PATCH/,
    ],
    [
      'no Linux binding core',
      '1.30.0',
      false,
      undefined,
      ['--dry-run'],
      /libonnxruntime\.so\.1 missing/,
    ],
    [
      'a wheel of another version',
      '1.30.0',
      true,
      ['onnxruntime-gpu', '1.29.0', ['cuda', 'shared']],
      [],
      /is onnxruntime-gpu 1\.29\.0, not onnxruntime-gpu 1\.30\.0/,
    ],
    [
      'a wheel of another package',
      '1.30.0',
      true,
      ['onnxruntime', '1.30.0', ['shared']],
      [],
      /is onnxruntime 1\.30\.0, not onnxruntime-gpu 1\.30\.0/,
    ],
    [
      'a wheel without the CUDA provider',
      '1.30.0',
      true,
      ['onnxruntime-gpu', '1.30.0', ['shared']],
      [],
      /lacks \['libonnxruntime_providers_cuda\.so'\]/,
    ],
    ['an unknown argument', '1.30.0', true, undefined, ['--force'], /unknown argument '--force'/],
  ];
  it.each(refusals)('refuses %s', (_name, version, core, whl, args, message) => {
    const dir = layout(version, core);
    const extra = whl ? ['--wheel', wheel(dir, ...whl)] : [];
    const r = run(dir, [...extra, ...args]);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(message);
    expect(
      existsSync(path.join(dir, 'node_modules', binding, 'libonnxruntime_providers_cuda.so')),
    ).toBe(false);
  });
});
