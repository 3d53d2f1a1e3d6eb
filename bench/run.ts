/**
 * `npm run bench [-- --cold] [--repeats N]
 *   [--only cluster,operator,runtime,autoscaler,fleet,reaction,router,router-fleet,demand-grid,demand-goals,sim-long]
 *   [--objects 500] [--steady 60] [--load 0.85] [--seconds 200]`:
 * run the benchmarks and print a Markdown table for docs/performance.md. Results go to
 * bench/results/<date>.json as well.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchColdBuild, benchWarmStart, type Row } from './cluster.ts';
import { benchAutoscalerScale, benchReaction } from './autoscaler.ts';
import { benchBurst } from './burst.ts';
import { benchDemandGoals } from './demand-goals.ts';
import { benchDemandGrid } from './demand-grid.ts';
import { benchFleet } from './fleet.ts';
import { benchOperator } from './operator.ts';
import { benchRouter } from './router.ts';
import { benchRouterFleet } from './router-fleet.ts';
import { benchRuntime } from './runtime.ts';
import { benchSimLong } from './sim-long.ts';
import { ensureTools } from '../dev/tools.ts';

const { values } = parseArgs({
  options: {
    cold: { type: 'boolean', default: false },
    /** Repeats of each measure (default 5; reaction at least 10; router-fleet 2 per arm). */
    repeats: { type: 'string' },
    /** Which benchmarks: cluster, operator, runtime, autoscaler, fleet, reaction, router, router-fleet, demand-grid, demand-goals, sim-long (comma-separated; all but the first four only when named). */
    only: { type: 'string', default: 'cluster,operator,runtime,autoscaler' },
    objects: { type: 'string', default: '500' },
    steady: { type: 'string', default: '60' },
    /** router-fleet: the trace's share of the pods' modelled capacity, and its seconds per arm. */
    load: { type: 'string', default: '0.85' },
    seconds: { type: 'string', default: '200' },
  },
});

const rows: Row[] = [];
const repeats = (fallback: number) =>
  values.repeats === undefined ? fallback : Number(values.repeats);
const only = values.only.split(',');
// The runtime, the router and the simulator run without the local cluster: no Go tools for them.
const clusterless = ['runtime', 'router', 'sim-long', 'demand-grid', 'demand-goals'];
if (values.cold || only.some((name) => !clusterless.includes(name))) await ensureTools();
if (values.cold) rows.push(...(await benchColdBuild()));
if (only.includes('cluster')) rows.push(...(await benchWarmStart(repeats(5))));
if (only.includes('runtime')) rows.push(...(await benchRuntime(repeats(5))));
if (only.includes('operator'))
  rows.push(...(await benchOperator(Number(values.objects), Number(values.steady))));
if (only.includes('fleet')) rows.push(...(await benchFleet()));
if (only.includes('autoscaler')) {
  rows.push(...(await benchAutoscalerScale()));
  rows.push(...(await benchBurst()));
}
if (only.includes('demand-grid')) rows.push(...benchDemandGrid());
if (only.includes('demand-goals')) rows.push(...benchDemandGoals());
if (only.includes('reaction')) rows.push(...(await benchReaction(Math.max(10, repeats(5)))));
if (only.includes('router')) rows.push(...(await benchRouter()));
if (only.includes('router-fleet'))
  rows.push(
    ...(await benchRouterFleet({
      repeats: repeats(2),
      load: Number(values.load),
      seconds: Number(values.seconds),
    })),
  );

if (only.includes('sim-long')) rows.push(...(await benchSimLong()));

const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
console.log(`\nMachine: ${machine}\n`);
console.log('| measure | value | detail |\n|---|---|---|');
for (const row of rows) console.log(`| ${row.name} | ${row.value} | ${row.detail} |`);

const out = path.join(import.meta.dirname, 'results');
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(
  path.join(out, `${new Date().toISOString().slice(0, 10)}.json`),
  JSON.stringify({ machine, date: new Date().toISOString(), rows }, null, 2),
);
