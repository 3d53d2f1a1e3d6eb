/**
 * The pod runner as a process of the local cluster (a component next to kwok):
 * `node dev/fleet/runner-main.ts --cluster-dir=DIR --kubeconfig=FILE --pod-cidr=CIDR
 * --port=PORT [--label-selector=SEL] [--backoff-base-ms=MS] [--pacing=true|false]`. /healthz answers once nodes
 * and pods are listed; /pods shows what it runs. SIGTERM stops every pod's processes first.
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { PodRunner } from './runner.ts';

const { values } = parseArgs({
  options: {
    'cluster-dir': { type: 'string' },
    kubeconfig: { type: 'string' },
    'pod-cidr': { type: 'string' },
    port: { type: 'string' },
    'label-selector': { type: 'string', default: '' },
    'backoff-base-ms': { type: 'string', default: '10000' },
    pacing: { type: 'string', default: 'true' },
  },
});

function required(name: 'cluster-dir' | 'kubeconfig' | 'pod-cidr' | 'port'): string {
  const value = values[name];
  if (!value) {
    process.stderr.write(`pod-runner: --${name} is required\n`);
    process.exit(2);
  }
  return value;
}

const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(required('kubeconfig'));
const server = new URL(kubeConfig.getCurrentCluster()!.server);
const baseMs = Number(values['backoff-base-ms']);
if (!Number.isInteger(baseMs) || baseMs < 0) {
  process.stderr.write(
    `pod-runner: --backoff-base-ms: "${values['backoff-base-ms']}" is not a whole number\n`,
  );
  process.exit(2);
}
const pacing = values.pacing;
if (pacing !== 'true' && pacing !== 'false') {
  process.stderr.write(`pod-runner: --pacing: "${pacing}" must be true or false\n`);
  process.exit(2);
}
const runner = new PodRunner({
  kubeConfig,
  clusterDir: required('cluster-dir'),
  podCidr: required('pod-cidr'),
  apiServer: { host: server.hostname, port: Number(server.port || 443) },
  labelSelector: values['label-selector'] ?? '',
  backoff: { baseMs },
  pacing: pacing === 'true',
  log,
});

let ready = false;
const health = http.createServer((req, res) => {
  if (req.url === '/healthz')
    return res.writeHead(ready ? 200 : 503).end(ready ? 'ok' : 'starting');
  if (req.url === '/pods') {
    res.setHeader('content-type', 'application/json');
    return res.end(JSON.stringify(runner.describe(), null, 2));
  }
  res.writeHead(404).end();
});
health.listen(Number(required('port')), '127.0.0.1');

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping every pod's processes`);
  await runner.stop();
  health.close();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
process.on('uncaughtException', (err) => {
  log(`uncaught: ${err.stack ?? String(err)}`);
  void shutdown('uncaughtException');
});

await runner.start();
ready = true;
log(
  `pod runner up (pods in ${values['pod-cidr']}, label selector "${values['label-selector']}", pacing ${pacing})`,
);
