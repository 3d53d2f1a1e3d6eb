/**
 * The operator process (create-operator.ts has the wiring). A bad flag or variable: one line
 * per problem on stderr, exit 2, no stack. Lost leadership: exit 1, so a fresh process
 * campaigns. SIGTERM, SIGINT (any signal close-with-grace catches): finish in-flight reconciles,
 * release the Lease, exit 0; no deadline here, the kubelet's SIGKILL after
 * terminationGracePeriodSeconds (30 s) is the bound.
 * An uncaught error crashes at once instead: state is unknown, and the standby takes over
 * within the lease duration (15 s).
 */
import closeWithGrace from 'close-with-grace';
import { loadConfigOrExit } from '../contract/startup.ts';
import { loadConfig } from './config.ts';
import { createOperator } from './create-operator.ts';

const config = loadConfigOrExit(() => loadConfig(process.argv.slice(2), process.env));
const operator = createOperator(config, { onLostLeadership: () => process.exit(1) });
await operator.start();
closeWithGrace(
  {
    delay: false,
    skip: ['uncaughtException', 'unhandledRejection'],
    logger: { error: (err: unknown) => operator.log.error({ err }, 'shutdown') },
  },
  ({ signal }) => operator.stop(signal ?? 'exit'),
);
