/** Test helper: start a small cluster, print its component pids, wait to be interrupted. */
import { startCluster } from '../../dev/cluster.ts';

const cluster = await startCluster({
  nodePools: [{ name: 'gpu', count: 1, gpusPerNode: 1 }],
});
console.log(`PIDS ${JSON.stringify(Object.values(cluster.pids()))}`);
setInterval(() => {}, 60_000);
