/**
 * The local GPU cluster and its monitoring: a part of the product (the demo runs on it), imported
 * by tests, scripts and benchmarks; it imports none of them (an ESLint boundary).
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
export { fleetLabelSelector, type FleetOptions } from './fleet/fleet.ts';
export {
  fleetQueries,
  instanceLabel,
  startFleetPrometheus,
  dcgmJob,
  runtimeJob,
} from './fleet/prometheus-sd.ts';
export { serviceBackends, type Backend } from './fleet/service.ts';
export { dcgmNamespace, dcgmPort } from './fleet/daemonset.ts';
export { binaryPath, ensureTools, goTools } from './tools.ts';
export { cacheDir, clusterDir, repoRoot } from './paths.ts';
export { runLoad, type LoadOptions, type LoadSummary } from './load/index.ts';
