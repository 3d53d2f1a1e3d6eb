/**
 * The router process: `node src/router/main.ts` (router.ts has the wiring). A bad variable: the
 * problems on stderr, exit 2. In a pod the ServiceAccount's token reads the pods; KUBECONFIG when
 * set. SIGTERM/SIGINT drain (router.ts); past the grace period, exit 1.
 */
import closeWithGrace from 'close-with-grace';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { podRootEnv } from '../contract/labels.ts';
import { loadConfigOrExit } from '../contract/startup.ts';
import { loadRouterConfig } from './config.ts';
import { createRouter } from './router.ts';

const config = loadConfigOrExit(() => loadRouterConfig(process.env));
const log = pino({ level: config.logLevel, base: { component: 'zimage-router' } });
const kubeConfig = new KubeConfig();
if (config.podSelector && process.env['KUBECONFIG']) kubeConfig.loadFromDefault();
else if (config.podSelector) kubeConfig.loadFromCluster(process.env[podRootEnv] ?? '');
const router = await createRouter(config, { kubeConfig, log });
closeWithGrace({ delay: config.shutdownGraceSeconds * 1000 }, async ({ signal, err }) => {
  if (err) log.error({ err }, 'uncaught error; shutting down');
  else log.info({ signal }, 'signal received; shutting down');
  await router.stop();
});
await router.start();
