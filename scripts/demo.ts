/**
 * The README's main job: build the tools (first run only), start the local GPU cluster with
 * its live fleet (pods run the real runtime on the tiny model, dcgm-exporter stand-ins on the
 * GPU nodes, Prometheus finding both through the API server), install the CRD and the
 * operator's RBAC, run the operator in the background under its own ServiceAccount, create a
 * model volume, apply deploy/examples/turbo.yaml, then the autoscaler at work
 * (scripts/demo-autoscaler.ts): deploy/examples/autoscaling-demo.yaml on the 16 GiB pool,
 * pointed at that Prometheus, behind its two routers, under a scripted load through them, a
 * line per second, `kubectl describe` at the end.
 * Everything keeps running; `npm run cluster:down` stops it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { demoAutoscaler } from './demo-autoscaler.ts';
import { tinyModelDir } from '../dev/paths.ts';
import { startCluster } from '../dev/cluster.ts';
import { startFleetPrometheus } from '../dev/fleet/prometheus-sd.ts';
import { repoRoot } from '../dev/paths.ts';
import { spawnManaged, waitFor } from '../dev/process.ts';
import { recordPid } from '../dev/state.ts';
import { binaryPath, ensureTools } from '../dev/tools.ts';
import { createModelVolume } from '../dev/volumes.ts';
import { get } from '../dev/http.ts';
import { freePorts } from '../dev/ports.ts';
import { installOperatorManifests, kubectl, operatorKubeconfig } from '../dev/operator.ts';

const name = process.env['ZIMAGE_CLUSTER_NAME'] ?? 'local';
const step = (text: string) => console.log(`\n==> ${text}`);

step('tools (built once, then cached)');
await ensureTools();

step(`local GPU cluster "${name}"`);
const cluster = await startCluster({
  name,
  persist: true,
  fleet: true,
  log: (line) => console.log(line),
});
const k = (...args: string[]) => kubectl(cluster.kubeconfigPath, ...args);

step('Prometheus (the fleet by Kubernetes SD, every 1 s)');
// Persistent and recorded with the cluster: cluster:down stops it.
const prometheus = await startFleetPrometheus(cluster, { persist: true });
console.log(`  prometheus is up (pid ${prometheus.pid}, ${prometheus.url})`);

step('CRD, operator namespace, RBAC and admission policy (deploy/)');
installOperatorManifests(cluster.kubeconfigPath);

step('operator (background, as ServiceAccount zimage-system/zimage-operator)');
const kubeconfig = await operatorKubeconfig(cluster.kubeconfigPath, undefined, {
  dir: cluster.dir,
  expirationSeconds: 24 * 3600,
});
const [port] = await freePorts(1);
const operator = spawnManaged(
  'zimage-operator',
  process.execPath,
  [
    path.join(repoRoot, 'src', 'operator', 'main.ts'),
    `--kubeconfig=${kubeconfig}`,
    '--http-host=127.0.0.1',
    `--http-port=${port}`,
    // The fleet's Prometheus is on 127.0.0.1; loopback URLs are refused by default.
    '--prometheus-url-allow-loopback=true',
  ],
  { logPath: path.join(cluster.dir, 'logs', 'zimage-operator.log'), persist: true },
);
// Recorded with the cluster's processes, so cluster:down stops the operator too (and one
// restarted by hand: cluster:down finds operators by their kubeconfig in the cluster folder).
recordPid(cluster.dir, 'zimage-operator', operator.pid);
await waitFor(
  'operator ready',
  async () => (await get(`http://127.0.0.1:${port}/readyz`)).status === 200,
  {
    timeoutMs: 60_000,
    proc: operator,
  },
);
console.log(`  operator is up (pid ${operator.pid}, metrics http://127.0.0.1:${port}/metrics)`);

step('model volume (ReadOnlyMany claim default/zimage-models) and deploy/examples/turbo.yaml');
// The examples name the model folder on the claim (subPath z-image-turbo-onnx): here it is
// the tiny test model, under that name.
const models = path.join(cluster.dir, 'models');
fs.mkdirSync(models, { recursive: true });
const link = path.join(models, 'z-image-turbo-onnx');
if (!fs.existsSync(link)) fs.symlinkSync(tinyModelDir, link);
await createModelVolume(cluster.kubeConfig, {
  namespace: 'default',
  name: 'zimage-models',
  hostPath: models,
}).catch((err: unknown) => {
  // A second demo run on the kept cluster finds the claim there already.
  if (!String(err).includes('AlreadyExists') && !String(err).includes('409')) throw err;
});
k('apply', '-f', path.join(repoRoot, 'deploy', 'examples', 'turbo.yaml'));
k('wait', '--for=condition=Ready', '--timeout=60s', 'zid/turbo');

step('kubectl get zid,deploy,pods -o wide');
console.log(k('get', 'zid'));
console.log(k('get', 'deploy,pods', '-l', 'app.kubernetes.io/instance=turbo', '-o', 'wide'));

step(
  'the autoscaler at work: deploy/examples/autoscaling-demo.yaml on the 16 GiB pool, load through its routers',
);
await demoAutoscaler({
  kubeconfigPath: cluster.kubeconfigPath,
  kubeConfig: cluster.kubeConfig,
  operatorUrl: `http://127.0.0.1:${port}`,
  prometheusUrl: prometheus.url,
  kubectl: k,
});

console.log(`Try it:
  export KUBECONFIG=${cluster.kubeconfigPath}
  alias kubectl=${binaryPath('kubectl')}
  kubectl patch zid turbo --type=merge -p '{"spec":{"runtime":{"steps":4}}}'   # live: ConfigMap only
  kubectl scale zid/turbo --replicas=3
  kubectl get zid -w
Operator log: ${path.join(cluster.dir, 'logs', 'zimage-operator.log')}
Prometheus: ${prometheus.url}
Stop everything: npm run cluster:down`);
