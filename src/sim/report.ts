/**
 * The table: per controller the share of images within the SLO, p95, images lost, GPU-seconds,
 * mean transformer passes per image, actions and reversals (per 10 min too).
 */
import type { Results } from './results.ts';
import type { Run } from './run.ts';

export interface Row {
  controller: string;
  withinSlo: number;
  p95: number | undefined;
  lost: number;
  gpuSeconds: number;
  passes: number;
  actions: number;
  reversals: number;
  reversalsPer10Min: number;
}

export function rowOf(run: Run): Row {
  const r: Results = run.results;
  const lost = Object.values(r.lost).reduce((a, b) => a + b, 0);
  return {
    controller: run.controller,
    withinSlo: r.images === 0 ? 1 : r.withinSlo / r.images,
    p95: r.p95,
    lost,
    gpuSeconds: r.gpuSeconds,
    passes: r.served === 0 ? 0 : r.passes / r.served,
    actions: r.actions,
    reversals: r.reversals,
    reversalsPer10Min: r.seconds === 0 ? 0 : (r.reversals * 600) / r.seconds,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** With any run behind the router, a routing column says which front each row had. */
export function table(runs: readonly Run[], slo = 15): string {
  const routed = runs.some((run) => run.routing !== 'service');
  const header = [
    'policy',
    ...(routed ? ['routing'] : []),
    `images <= ${slo} s`,
    'over',
    'p95 (served)',
    'lost',
    'GPU-s',
    'passes/img',
    'actions',
    'reversals (/10 min)',
  ];
  const rows = runs.map((run) => {
    const r = rowOf(run);
    const over = run.results.images - run.results.withinSlo;
    return [
      r.controller,
      ...(routed ? [run.front] : []),
      pct(r.withinSlo),
      String(over),
      r.p95 === undefined ? '-' : `${r.p95.toFixed(1)} s`,
      String(r.lost),
      String(Math.round(r.gpuSeconds)),
      r.passes.toFixed(2),
      String(r.actions),
      `${r.reversals} (${r.reversalsPer10Min.toFixed(2)})`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}
