/**
 * `npm run bench [-- --cold] [--repeats N] [--only cluster,operator,runtime,autoscaler,fleet,reaction,router] [--objects 500] [--steady 60]`: run the benchmarks and print a Markdown table
 * for docs/performance.md. Results go to bench/results/<date>.json as well.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchColdBuild, benchWarmStart, type Row } from './cluster.ts';
import { benchAutoscalerScale, benchReaction } from './autoscaler.ts';
import { benchFleet } from './fleet.ts';
import { benchOperator } from './operator.ts';
import { benchRouter } from './router.ts';
import { benchRuntime } from './runtime.ts';
import { ensureTools } from '../dev/tools.ts';

const { values } = parseArgs({
  options: {
    cold: { type: 'boolean', default: false },
    repeats: { type: 'string', default: '5' },
    /** Which benchmarks: cluster, operator, runtime, autoscaler, fleet, reaction, router (comma-separated; fleet, reaction and router only when named). */
    only: { type: 'string', default: 'cluster,operator,runtime,autoscaler' },
    objects: { type: 'string', default: '500' },
    steady: { type: 'string', default: '60' },
  },
});

const rows: Row[] = [];
const only = values.only.split(',');
// The runtime and the router run without the local cluster: no Go tools to build for them.
if (values.cold || only.some((name) => name !== 'runtime' && name !== 'router'))
  await ensureTools();
if (values.cold) rows.push(...(await benchColdBuild()));
if (only.includes('cluster')) rows.push(...(await benchWarmStart(Number(values.repeats))));
if (only.includes('runtime')) rows.push(...(await benchRuntime(Number(values.repeats))));
if (only.includes('operator'))
  rows.push(...(await benchOperator(Number(values.objects), Number(values.steady))));
if (only.includes('fleet')) rows.push(...(await benchFleet()));
if (only.includes('autoscaler')) rows.push(...(await benchAutoscalerScale()));
if (only.includes('reaction'))
  rows.push(...(await benchReaction(Math.max(10, Number(values.repeats)))));
if (only.includes('router')) rows.push(...(await benchRouter()));

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
