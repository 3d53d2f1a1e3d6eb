/** Stop the cluster `cluster:up` started (and any process an earlier run left behind). */
import { clusterDir } from '../dev/paths.ts';
import { cleanupStale } from '../dev/state.ts';

const name = process.env['ZIMAGE_CLUSTER_NAME'] ?? 'local';
const stopped = await cleanupStale(clusterDir(name), (line) => console.log(line));
console.log(
  stopped > 0
    ? `cluster "${name}" stopped (${stopped} processes)`
    : `cluster "${name}" was not running`,
);
