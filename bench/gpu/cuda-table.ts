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
  'cudnn-tunable': 'CUDNN_ATTENTION',
};
/**
 * Graph name prefixes of one transformer case and what they are (cuda-bench.ts graphsFor).
 * `fused` is the exporter's graph: since the exporter applies both rewrites (after the
 * 2026-12-01 runs) that is what `fusedx` was, and the results folders before that have `fused` =
 * the plain export and a `fusedx` row.
 */
const variants: [string, string][] = [
  ['fused', ''],
  ['plain', ', plain export (no graph rewrites)'],
  ['fusedE', ", graphOptimizationLevel 'extended'"],
  ['fusedr', ', RoPE as RotaryEmbedding (fp32) only'],
  ['fusedn', ', RMSNorm as SimplifiedLayerNormalization only'],
  ['fusedx', ', both rewrites (RoPE in the graph precision)'],
];
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

function transformerRow(
  t: Row,
  n: number,
  torchRows: Row[],
  prefix: string,
  label: string,
): string {
  const tms = (layers: number) =>
    num(
      torchRows.find(
        (r) =>
          r['precision'] === t['precision'] &&
          r['layers'] === layers &&
          r['backend'] === torchName[s(t['config'])],
      )?.['medianMs'],
    );
  const small = graph(t, t['config'] === 'math' ? 'unfused-2' : `${prefix}-2`);
  const big = graph(t, `${prefix}-${n}`);
  const [o2, on] = [num(small?.['medianMs']), num(big?.['medianMs'])];
  const [p2, pn] = [tms(2), tms(n)];
  const [o30, p30] = [est(o2, on, n), est(p2, pn, n)];
  const ratio = div(o30, p30) ?? div(o2, p2);
  const shown = big ?? small;
  const kernels = shown?.['kernels'] ?? small?.['error'] ?? t['tail'];
  const perLayer = o2 !== undefined && on !== undefined ? (on - o2) / (n - 2) : undefined;
  return `| ${s(t['precision'])} | ${s(t['config'])}${label} | ${f(o2)} | ${f(on)} | ${f(o30)} | ${f(perLayer, 2)} | ${f(p2)} | ${f(pn)} | ${f(p30)} | ${f(ratio, 3)} | ${f(shown?.['relErrorVsTorch'], 4)} | ${s(shown?.['gpuPeakDeltaMiB'])} | ${s(kernels)} |`;
}

function transformerTable(results: Row, torchRows: Row[]): string[] {
  const n = Number(results['layers']);
  const lines = [
    `## Transformer forward at 1024^2 (4608 tokens), ms; 30-layer estimate = T(2) + 28 (T(${n}) - T(2)) / ${n - 2}`,
    '',
    `| precision | attention | ORT 2 | ORT ${n} | ORT est. 30 | ORT per layer | PyTorch 2 | PyTorch ${n} | PyTorch est. 30 | ratio ORT/PyTorch | rel. err vs PyTorch | GPU peak +MiB | kernels |`,
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const transformer = rows(results['transformer']);
  for (const t of transformer) {
    if (t['skipped']) {
      lines.push(
        `| ${s(t['precision'])} | ${s(t['config'])} | skipped: ${s(t['skipped'])} ||||||||||`,
      );
      continue;
    }
    for (const [prefix, label] of variants)
      if (prefix === 'fused' || graph(t, `${prefix}-2`) || graph(t, `${prefix}-${n}`))
        lines.push(transformerRow(t, n, torchRows, prefix, label));
  }
  const io = graph(
    transformer.find((t) => graph(t, 'io-probe')),
    'io-probe',
  );
  if (io)
    lines.push(
      '',
      `Host copies + run overhead per transformer pass (same inputs/output, no work): ${f(io['medianMs'], 2)} ms; JS patchify + unpatchify ${f(io['hostJsMs'], 2)} ms.`,
    );
  const vae = graph(
    transformer.find((t) => graph(t, 'vae-1024')),
    'vae-1024',
  );
  if (vae)
    lines.push(
      '',
      vae['error']
        ? `VAE decoder at 1024^2: ${s(vae['error']).slice(0, 300)}`
        : `VAE decoder at 1024^2 (fp16 file): ${f(vae['medianMs'])} ms, GPU peak +${s(vae['gpuPeakDeltaMiB'])} MiB; then toRgb8 ${f(vae['toRgb8Ms'])} ms, PNG (node:zlib) ${f(vae['pngMs'])} ms (${s(vae['pngBytes'])} bytes), fast-png ${f(vae['fastPngMs'])} ms (${s(vae['fastPngBytes'])} bytes).`,
    );
  return lines;
}

function prepNotes(torch: Row): string[] {
  const lines: string[] = [];
  const rw = rows(torch['rewrites']);
  if (rw.length)
    lines.push(
      '## Graph rewrites (tools/export/fuse_graph.py)',
      '',
      '| variant | precision | dir | norms | ropes | nodes before -> after | error |',
      '|---|---|---|---|---|---|---|',
      ...rw.map(
        (r) =>
          `| ${s(r['variant'])} | ${s(r['precision'])} | ${s(r['dir'])} | ${s(r['norms'])} | ${s(r['ropes'])} | ${s(r['nodesBefore'])} -> ${s(r['nodesAfter'])} | ${s(r['error'] ?? '').slice(0, 200)} |`,
      ),
      '',
    );
  const prof = torch['profile'] as Row | undefined;
  if (prof) {
    const groups = (prof['groupsMs'] ?? {}) as Record<string, number>;
    lines.push(
      '## PyTorch eager kernel time per forward (bf16, 2 layers, cuDNN SDPA; torch.profiler)',
      '',
      prof['error']
        ? `profile failed: ${s(prof['error'])}`
        : `total ${f(prof['totalMs'], 2)} ms in ${s(prof['kernels'])} kernels: ` +
            Object.entries(groups)
              .map(([k, v]) => `${k} ${f(v, 2)} ms`)
              .join(', '),
      '',
    );
  }
  return lines;
}

function note(h: Row): string {
  if (h['started'] === false) {
    const line = s(h['error'])
      .split('\n')
      .find((l) => /ZIMAGE_|error|fatal|memory/i.test(l));
    return `did not start: ${line?.slice(0, 300) ?? ''}`;
  }
  const parts: string[] = [];
  if (h['started'] === undefined && h['error'] !== undefined)
    return `case failed: ${s(h['error']).split('\n')[0]?.slice(0, 300) ?? ''}`;
  if (h['freeForRuntimeMiB'] !== undefined)
    parts.push(`free ${s(h['freeForRuntimeMiB'])} MiB (missing ${s(h['missingWeightsMiB'])})`);
  const recovering = h['readyzWhileRecovering'];
  if (Array.isArray(recovering) && recovering.length)
    parts.push(
      `ready again after ${recovering.map((x) => f(x, 0)).join(', ')} ms (-1: exited or not ready in 60 s)`,
    );
  if (h['exitCode'] !== undefined) parts.push(`exit ${s(h['exitCode'])}`);
  if (h['readyzAfter'] !== undefined && h['readyzAfter'] !== 200)
    parts.push(`readyz after ${s(h['readyzAfter'])}`);
  const err = h['lastError'] as Row | undefined;
  if (err) parts.push(`${s(err['code'])}: ${s(err['message']).slice(0, 160)}`);
  return parts.join('; ');
}

function httpTable(results: Row): string[] {
  const lines = [
    '## Pipeline over HTTP at 1024^2, 8 transformer passes',
    '',
    '| case | kernel | ready s | HTTP ms | pipeline ms | text enc. ms | denoise ms | VAE + PNG ms | GPU peak +MiB | statuses | note |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const all = [...rows(results['http']), ...rows(results['card16']), ...rows(results['extra'])];
  for (const h of all) {
    const engine = h['engine'] as Row | undefined;
    lines.push(
      `| ${s(h['name'])} | ${s(engine?.['attentionKernel'])} | ${f((h['readyMs'] as number) / 1000)} | ${f(h['httpMs'])} | ${f(h['pipelineMs'])} | ${f(h['encodeMs'])} | ${f(h['denoiseMs'])} | ${f(h['decodeMs'])} | ${s(h['gpuPeakDeltaMiB'])} | ${s(h['statuses'] ?? [])} | ${note(h)} |`,
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
    ...prepNotes(torch),
    ...httpTable(results),
  ].join('\n');
  writeFileSync(path.join(outDir, 'table.md'), `${text}\n`);
  console.log(`\n${text}`);
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const dir = process.argv[2] ?? '.';
  printTables(JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8')) as Row, dir, dir);
}
