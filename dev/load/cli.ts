/**
 * `npm run load -- --target http://127.0.0.1:8080 --rate 2 --duration 30`: the open-loop load
 * generator from the command line (flags: args.ts). Exit 0 after a run (whatever the server
 * answered), 2 for bad arguments (each named by its flag), 1 when the run itself failed.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { issueLines, parseLoadArgs, usage } from './args.ts';
import { LoadOptionsError } from './options.ts';
import { progressPrinter } from './progress.ts';
import { runLoad } from './run.ts';
import type { ListBackends } from './spread.ts';
import { formatSummary } from './summary.ts';
import { TargetError } from './target.ts';
import { serviceBackends } from '../fleet/service.ts';
import { describeApiError } from '../../src/formats/api-status.ts';
import { clusterDir } from '../paths.ts';
import { readState } from '../state.ts';
import { pidAlive } from '../process.ts';

const invalid = (lines: string[]) => {
  process.stderr.write(`invalid arguments:\n${lines.join('\n')}\n\nrun with --help for usage\n`);
  return 2;
};

/** The admin kubeconfig of the local cluster `cluster:up` started, while it runs. */
function runningKubeconfig(): string | undefined {
  const name = process.env['ZIMAGE_CLUSTER_NAME'] ?? 'local';
  const state = readState(clusterDir(name));
  const apiServer = state?.pids['kube-apiserver'];
  return state && (apiServer === undefined || pidAlive(apiServer)) ? state.kubeconfig : undefined;
}

/** The Service's Ready backends, listed through the API of this kubeconfig. */
function backendsOf(service: { namespace: string; name: string; kubeconfig: string }) {
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromFile(service.kubeconfig);
  } catch (err) {
    return `  --kubeconfig: cannot read ${service.kubeconfig} (${(err as Error).message})`;
  }
  const core = kubeConfig.makeApiClient(CoreV1Api);
  // The API server's own words ("services \"x\" not found"), not the client's HTTP dump.
  const list: ListBackends = () =>
    serviceBackends(core, service.namespace, service.name).catch((err: unknown) => {
      throw new Error(describeApiError(err), { cause: err });
    });
  return list;
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseLoadArgs(argv, { env: process.env, runningKubeconfig });
  if (parsed.kind === 'help') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (parsed.kind === 'invalid') return invalid(parsed.lines);
  const o = parsed.options;
  const backends = parsed.service && backendsOf(parsed.service);
  if (typeof backends === 'string') return invalid([backends]);
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  try {
    const print = progressPrinter(process.stderr);
    let started = false;
    const onProgress: typeof print = (p, final) => {
      // The first tick comes once the options were accepted and the file is open.
      if (!started) process.stderr.write(`recording every request to ${o.recordPath}\n`);
      started = true;
      print(p, final);
    };
    const summary = await runLoad({
      ...o,
      ...(backends ? { backends } : {}),
      signal: stop.signal,
      onProgress,
    });
    const text = parsed.json ? JSON.stringify(summary, null, 2) : formatSummary(summary);
    process.stdout.write(`${text}\n`);
    return 0;
  } catch (err) {
    if (err instanceof LoadOptionsError) return invalid(issueLines(err));
    if (err instanceof TargetError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
