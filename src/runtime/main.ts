/**
 * The runtime process: `node src/runtime/main.ts` (create-runtime.ts has the wiring and the
 * start-up order). A bad variable: the problems on stderr, exit 2, before listening. A failed
 * engine start: exit 1, and Kubernetes restarts the pod with backoff.
 */
import { loadConfigOrExit } from '../contract/startup.ts';
import { loadConfig } from './config.ts';
import { createRuntime } from './create-runtime.ts';

const config = loadConfigOrExit(() => loadConfig(process.env));
const runtime = await createRuntime(config, { env: process.env });
await runtime.listen();
await runtime.start().catch(() => process.exit(1));
