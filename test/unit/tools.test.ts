import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../dev/paths.ts';
import { defaultBinaryName, goTools, type GoToolName } from '../../dev/tools.ts';

const goMod = (tool: string) =>
  fs.readFileSync(path.join(repoRoot, 'tools', 'go', tool, 'go.mod'), 'utf8');

describe('Go tool wrappers', () => {
  it.each(Object.keys(goTools) as GoToolName[])(
    '%s: the table and the wrapper go.mod agree',
    (tool) => {
      const spec = goTools[tool];
      const mod = goMod(tool);
      // The version the table (and cache key) names is the one the wrapper really requires.
      const escaped = spec.module.replaceAll('.', '\\.');
      expect(mod).toMatch(
        new RegExp(`^(require )?\\s*${escaped} ${spec.version}( // indirect)?$`, 'm'),
      );
      // Every binary is declared as a tool of the wrapper, so `go mod tidy` keeps its deps.
      for (const pkg of Object.values(spec.binaries)) expect(mod).toContain(pkg);
      expect(fs.existsSync(path.join(repoRoot, 'tools', 'go', tool, 'go.sum'))).toBe(true);
    },
  );

  it('replaces every Kubernetes staging module with the release that matches k8s.io/kubernetes', () => {
    const mod = goMod('kubernetes');
    const [, minor, patch] = /^v1\.(\d+)\.(\d+)$/.exec(goTools.kubernetes.version)!;
    const replaces = [...mod.matchAll(/^\s*(k8s\.io\/[\w.-]+) => (k8s\.io\/[\w.-]+) (v\S+)$/gm)];
    expect(replaces.length).toBeGreaterThan(25);
    for (const [, from, to, version] of replaces) {
      expect(to).toBe(from);
      expect(version).toBe(`v0.${minor}.${patch}`);
    }
    // /version must report the real release: the ldflags carry the same version.
    expect(goTools.kubernetes.ldflags).toContain(
      `k8s.io/component-base/version.gitVersion=${goTools.kubernetes.version}`,
    );
  });

  it.each([
    ['k8s.io/kubernetes/cmd/kube-apiserver', 'kube-apiserver'],
    ['go.etcd.io/etcd/server/v3', 'server'],
    ['helm.sh/helm/v3/cmd/helm', 'helm'],
    ['example.com/v2', 'example.com'],
    ['tool', 'tool'],
  ])('go build names %s %s', (pkg, name) => {
    expect(defaultBinaryName(pkg)).toBe(name);
  });
});
