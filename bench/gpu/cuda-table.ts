/**
 * cuda-bench.ts's summary: markdown tables from its results and torch_reference.py's
 * torch.json, with the per-layer scaling to Z-Image's 30 + 2 + 2 layers:
 *   T(30) = T(2) + 28 x (T(N) - T(2)) / (N - 2)   (the 2 + 2 refiners are in both T(2) and T(N)).
 * Also runnable on its own to rebuild table.md from a results folder:
 *   node bench/gpu/cuda-table.ts bench/gpu/results/h200-2026-12-01
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

type Row = Record<string, unknown>;
const torchName: Record<string, string> = {
  cudnn: 'CUDNN_ATTENTION',
  flash: 'FLASH_ATTENTION',
  efficient: 'EFFICIENT_ATTENTION',
  math: 'MATH',
  auto: 'CUDNN_ATTENTION',
};
const f = (x: unknown, digits = 1) =>
  typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '-';
// Run 1 stored ORT's colour codes with the kernel names (the probe strips them since).
const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const s = (x: unknown) =>
  (typeof x === 'string' || typeof x === 'number' ? String(x) : JSON.stringify(x ?? '-')).replace(
    ansi,
    '',
  );
const rows = (x: unknown) => (Array.isArray(x) ? (x as Row[]) : []);

export function scaleTo30(t2: number, tn: number, n: number): number {
  return t2 + ((30 - 2) * (tn - t2)) / (n - 2);
}

function graph(row: Row | undefined, name: string): Row | undefined {
  return rows(row?.['graphs']).find((g) => g['name'] === name);
}

function kernelTable(results: Row): string[] {
  const lines = [
    '## Attention kernel chosen by ORT (MultiHeadAttention, 30 x 128), per-op ms at 4608 tokens',
    '',
    '| setting | precision | 64 tokens | 1056 | 4608 | per op ms |',
    '|---|---|---|---|---|---|',
  ];
  for (const k of rows(results['kernels'])) {
    const ks = k['kernels'] as Record<string, string | null>;
    const big = ks['4608'] ?? (k['exitCode'] === 0 ? 'none' : `crashed (exit ${s(k['exitCode'])})`);
    lines.push(
      `| ${s(k['config'])} | ${s(k['precision'])} | ${s(ks['64'] ?? 'none')} | ${s(ks['1056'] ?? 'none')} | ${s(big)} | ${f(k['perOpMs'], 3)} |`,
    );
  }
  return lines;
}

const num = (x: unknown) => (typeof x === 'number' ? x : undefined);
const est = (t2: number | undefined, tn: number | undefined, n: number) =>
  t2 !== undefined && tn !== undefined ? scaleTo30(t2, tn, n) : undefined;
const div = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined ? a / b : undefined;

function transformerRow(t: Row, n: number, torchRows: Row[]): string {
  const tms = (layers: number) =>
    num(
      torchRows.find(
        (r) =>
          r['precision'] === t['precision'] &&
          r['layers'] === layers &&
          r['backend'] === torchName[s(t['config'])],
      )?.['medianMs'],
    );
  const small = graph(t, t['config'] === 'math' ? 'unfused-2' : 'fused-2');
  const big = graph(t, `fused-${n}`);
  const [o2, on] = [num(small?.['medianMs']), num(big?.['medianMs'])];
  const [p2, pn] = [tms(2), tms(n)];
  const [o30, p30] = [est(o2, on, n), est(p2, pn, n)];
  const ratio = div(o30, p30) ?? div(o2, p2);
  const shown = big ?? small;
  const kernels = shown?.['kernels'] ?? small?.['error'] ?? t['tail'];
  return `| ${s(t['precision'])} | ${s(t['config'])} | ${f(o2)} | ${f(on)} | ${f(o30)} | ${f(p2)} | ${f(pn)} | ${f(p30)} | ${f(ratio, 3)} | ${f(shown?.['relErrorVsTorch'], 4)} | ${s(shown?.['gpuPeakDeltaMiB'])} | ${s(kernels)} |`;
}

function transformerTable(results: Row, torchRows: Row[]): string[] {
  const n = Number(results['layers']);
  const lines = [
    `## Transformer forward at 1024^2 (4608 tokens), ms; 30-layer estimate = T(2) + 28 (T(${n}) - T(2)) / ${n - 2}`,
    '',
    `| precision | attention | ORT 2 | ORT ${n} | ORT est. 30 | PyTorch 2 | PyTorch ${n} | PyTorch est. 30 | ratio ORT/PyTorch | rel. err vs PyTorch | GPU peak +MiB | kernels |`,
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const transformer = rows(results['transformer']);
  for (const t of transformer)
    lines.push(
      t['skipped']
        ? `| ${s(t['precision'])} | ${s(t['config'])} | skipped: ${s(t['skipped'])} |||||||||`
        : transformerRow(t, n, torchRows),
    );
  const io = graph(
    transformer.find((t) => graph(t, 'io-probe')),
    'io-probe',
  );
  if (io)
    lines.push(
      '',
      `Host copies + run overhead per transformer pass (same inputs/output, no work): ${f(io['medianMs'], 2)} ms; JS patchify + unpatchify ${f(io['hostJsMs'], 2)} ms.`,
    );
  return lines;
}

function note(h: Row): string {
  if (h['started'] === false) {
    const line = s(h['error'])
      .split('\n')
      .find((l) => /ZIMAGE_|error|fatal|memory/i.test(l));
    return `did not start: ${line?.slice(0, 300) ?? ''}`;
  }
  if (h['freeForRuntimeMiB'] === undefined) return '';
  return `free ${s(h['freeForRuntimeMiB'])} MiB (missing ${s(h['missingWeightsMiB'])}); readyz after ${s(h['readyzAfter'])}; ${s(h['lastError'] ?? '')}`;
}

function httpTable(results: Row): string[] {
  const lines = [
    '## Pipeline over HTTP at 1024^2, 8 transformer passes',
    '',
    '| case | kernel | ready s | HTTP ms | pipeline ms | denoise ms | GPU peak +MiB | statuses | note |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const all = [...rows(results['http']), ...rows(results['card16']), ...rows(results['extra'])];
  for (const h of all) {
    const engine = h['engine'] as Row | undefined;
    lines.push(
      `| ${s(h['name'])} | ${s(engine?.['attentionKernel'])} | ${f((h['readyMs'] as number) / 1000)} | ${f(h['httpMs'])} | ${f(h['pipelineMs'])} | ${f(h['denoiseMs'])} | ${s(h['gpuPeakDeltaMiB'])} | ${s(h['statuses'] ?? [])} | ${note(h)} |`,
    );
  }
  return lines;
}

export function printTables(results: Row, prep: string, outDir: string): void {
  const torchFile = path.join(prep, 'torch.json');
  const torch = existsSync(torchFile) ? (JSON.parse(readFileSync(torchFile, 'utf8')) as Row) : {};
  const text = [
    ...kernelTable(results),
    '',
    ...transformerTable(results, rows(torch['torch_rows'])),
    '',
    ...httpTable(results),
  ].join('\n');
  writeFileSync(path.join(outDir, 'table.md'), `${text}\n`);
  console.log(`\n${text}`);
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const dir = process.argv[2] ?? '.';
  printTables(JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8')) as Row, dir, dir);
}
