import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir } from './paths.ts';
import { goToolchain, kubectl, waitEstablished } from './tools.ts';

/**
 * Prometheus Operator CRDs, pinned. They ship inside its Go module
 * (example/prometheus-operator-crd/), which the Go module proxy serves like any module.
 */
export const prometheusOperator = {
  module: 'github.com/prometheus-operator/prometheus-operator',
  version: 'v0.85.0',
} as const;

/** The kinds the operator may create; the big ones (Prometheus, Alertmanager, ...) are left out. */
export const defaultMonitoringKinds = [
  'servicemonitors',
  'podmonitors',
  'prometheusrules',
] as const;

/** Download the module once (cached by version) and return the CRD file paths. */
export function monitoringCrdFiles(kinds: readonly string[] = defaultMonitoringKinds): string[] {
  const dest = path.join(cacheDir(), 'crds', `prometheus-operator-${prometheusOperator.version}`);
  if (!fs.existsSync(dest)) {
    const out = execFileSync(
      'go',
      ['mod', 'download', '-json', `${prometheusOperator.module}@${prometheusOperator.version}`],
      // GOFLAGS=-mod=mod: run outside any module, so no go.mod decides anything.
      { env: { ...process.env, GOTOOLCHAIN: goToolchain, GOFLAGS: '-mod=mod' }, cwd: cacheDir() },
    );
    const { Dir } = JSON.parse(out.toString()) as { Dir: string };
    const src = path.join(Dir, 'example', 'prometheus-operator-crd');
    fs.mkdirSync(`${dest}.tmp`, { recursive: true });
    for (const file of fs.readdirSync(src))
      fs.copyFileSync(path.join(src, file), path.join(`${dest}.tmp`, file));
    fs.renameSync(`${dest}.tmp`, dest);
  }
  return kinds.map((kind) => path.join(dest, `monitoring.coreos.com_${kind}.yaml`));
}

/** Install the CRDs (server-side apply: they exceed client-side apply's annotation limit). */
export function installMonitoringCrds(
  kubeconfigPath: string,
  kinds: readonly string[] = defaultMonitoringKinds,
): void {
  const files = monitoringCrdFiles(kinds);
  kubectl(
    kubeconfigPath,
    'apply',
    '--server-side',
    '--field-manager=zimage-local-cluster',
    ...files.flatMap((f) => ['-f', f]),
  );
  waitEstablished(
    kubeconfigPath,
    kinds.map((k) => `crd/${k}.monitoring.coreos.com`),
  );
}
