/**
 * Start the local GPU cluster in the background and print how to use it. The processes keep
 * running after this script exits; `npm run cluster:down` stops them. Running it again first
 * cleans up whatever a previous run left. `-- --fleet` (or ZIMAGE_FLEET=1) makes it a fleet
 * cluster: our pods run as real processes, with dcgm-exporter on every GPU node, paced to the
 * node's card unless `--no-pacing`, and Prometheus discovering them through the API server.
 */
import { execFileSync } from 'node:child_process';
import { startCluster } from '../dev/cluster.ts';
import { startFleetPrometheus } from '../dev/fleet/prometheus-sd.ts';
import { binaryPath, ensureTools } from '../dev/tools.ts';

const name = process.env['ZIMAGE_CLUSTER_NAME'] ?? 'local';
const fleetOn = process.argv.includes('--fleet') || process.env['ZIMAGE_FLEET'] === '1';
// `--no-pacing`: runtime pods run at the tiny model's own speed (dev/fleet/fleet.ts pacing).
const fleet = fleetOn && { pacing: !process.argv.includes('--no-pacing') };
await ensureTools();
const started = Date.now();
console.log(`starting cluster "${name}"`);
const cluster = await startCluster({
  name,
  persist: true,
  fleet,
  log: (line) => console.log(line),
});
// Persistent and recorded with the cluster: cluster:down stops it.
const prometheus = fleet ? await startFleetPrometheus(cluster, { persist: true }) : undefined;
if (prometheus) console.log(`  prometheus is up (pid ${prometheus.pid}, ${prometheus.url})`);
const seconds = ((Date.now() - started) / 1000).toFixed(1);
const kubectl = binaryPath('kubectl');
console.log(`cluster "${name}" is up in ${seconds} s\n`);
console.log(
  execFileSync(kubectl, [
    `--kubeconfig=${cluster.kubeconfigPath}`,
    'get',
    'nodes',
    '-L',
    'nvidia.com/gpu.product',
    '-L',
    'nvidia.com/gpu.memory',
  ]).toString(),
);
console.log(`Use it:
  export KUBECONFIG=${cluster.kubeconfigPath}
  alias kubectl=${kubectl}
  kubectl get nodes -o custom-columns=NAME:.metadata.name,GPUS:.status.allocatable.nvidia\\.com/gpu
Logs: ${cluster.dir}/logs${fleet ? `\nPod runner: ${cluster.podRunnerUrl}/pods (what runs where); pod logs: ${cluster.dir}/pods` : ''}${
  prometheus
    ? `\nPrometheus: ${prometheus.url} (the fleet's pods by Kubernetes SD, every 1 s): set it as spec.autoscaling.metrics.prometheus.url, and run the operator with --prometheus-url-allow-loopback=true (loopback is refused by default)`
    : ''
}
Stop: npm run cluster:down`);
