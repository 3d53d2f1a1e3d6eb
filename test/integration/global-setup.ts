import type { TestProject } from 'vitest/node';
import { startCluster, type Cluster } from '../../dev/cluster.ts';
import { cleanupOrphanedClusters } from '../../dev/state.ts';
import { ensureTools } from '../../dev/tools.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin kubeconfig of the suite's shared cluster. */
    kubeconfigPath: string;
  }
}

let cluster: Cluster | undefined;

/**
 * One real control plane for the whole integration suite. Tests that break it on purpose
 * (restarts, stop) start their own with startCluster().
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (line: string) => console.log(line);
  await cleanupOrphanedClusters(log);
  await ensureTools(log);
  const started = Date.now();
  cluster = await startCluster({ name: `it-${process.pid}`, log });
  console.log(`integration cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  project.provide('kubeconfigPath', cluster.kubeconfigPath);
  return async () => {
    await cluster?.stop();
  };
}
