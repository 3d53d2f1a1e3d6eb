/**
 * The router process: `node src/router/main.ts`. Config from the environment (a bad variable:
 * one line each on stderr, exit 2); in a pod the ServiceAccount's token reads the pods.
 * SIGTERM/SIGINT drain (router.ts); past the grace period, exit 1.
 */
import closeWithGrace from 'close-with-grace';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { podRootEnv } from '../contract/labels.ts';
import { loadRouterConfig, RouterConfigError, type RouterConfig } from './config.ts';
import { createRouter } from './router.ts';

let config: RouterConfig;
try {
  config = loadRouterConfig(process.env);
} catch (err) {
  if (!(err instanceof RouterConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
}
const log = pino({ level: config.logLevel, base: { component: 'zimage-router' } });
const kubeConfig = new KubeConfig();
if (config.podSelector) {
  if (process.env['KUBECONFIG']) kubeConfig.loadFromDefault();
  else kubeConfig.loadFromCluster(process.env[podRootEnv] ?? '');
}
const router = await createRouter(config, { kubeConfig, log });
closeWithGrace({ delay: config.shutdownGraceSeconds * 1000 }, async ({ signal, err }) => {
  if (err) log.error({ err }, 'uncaught error; shutting down');
  else log.info({ signal }, 'signal received; shutting down');
  await router.stop();
});
await router.start();
