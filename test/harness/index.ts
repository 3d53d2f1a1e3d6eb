/**
 * The local GPU cluster and monitoring harness, shared by tests, scripts and benchmarks.
 * Everything here runs real components as processes on loopback; nothing is mocked.
 */
export { startCluster, type Cluster, type StartClusterOptions } from './cluster.ts';
export type { ComponentName } from './components.ts';
export {
  defaultNodePools,
  gpuResource,
  podRunnerAnnotation,
  poolLabel,
  type NodePool,
} from './nodes.ts';
export { createModelVolume, modelStorageClass } from './volumes.ts';
export {
  installMonitoringCrds,
  monitoringCrdFiles,
  prometheusOperator,
} from './monitoring-crds.ts';
export { startPrometheus, type PrometheusInstance } from './prometheus.ts';
export { binaryPath, ensureTools, goTools } from './tools.ts';
export { cacheDir, clusterDir, repoRoot } from './paths.ts';
