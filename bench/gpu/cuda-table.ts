/**
 * cuda-bench.ts's summary: markdown tables from its results and torch_reference.py's
 * torch.json, with the per-layer scaling to Z-Image's 30 + 2 + 2 layers:
 *   T(30) = T(2) + 28 x (T(N) - T(2)) / (N - 2)   (the 2 + 2 refiners are in both T(2) and T(N)).
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

export function scaleTo30(t2: number, tn: number, n: number): number {
  return t2 + ((30 - 2) * (tn - t2)) / (n - 2);
}

function graph(row: Row | undefined, name: string): Row | undefined {
  return (row?.['graphs'] as Row[] | undefined)?.find((g) => g['name'] === name);
}

export function printTables(results: Row, prep: string, outDir: string): void {
  const n = Number(results['layers']);
  const torchFile = path.join(prep, 'torch.json');
  const torch = existsSync(torchFile) ? (JSON.parse(readFileSync(torchFile, 'utf8')) as Row) : {};
  const torchRows = (torch['torch_rows'] as Row[] | undefined) ?? [];
  const tms = (p: unknown, layers: number, backend: string) =>
    torchRows.find(
      (r) => r['precision'] === p && r['layers'] === layers && r['backend'] === backend,
    )?.['medianMs'] as number | undefined;
  const lines: string[] = [];
  lines.push(
    '## Attention kernel chosen by ORT (MultiHeadAttention, 30 x 128), per-op ms at 4608 tokens',
    '',
  );
  lines.push(
    '| setting | precision | 64 tokens | 1056 | 4608 | per op ms |',
    '|---|---|---|---|---|---|',
  );
  for (const k of (results['kernels'] as Row[] | undefined) ?? []) {
    const ks = k['kernels'] as Record<string, string | null>;
    lines.push(
      `| ${String(k['config'])} | ${String(k['precision'])} | ${ks['64'] ?? 'none'} | ${ks['1056'] ?? 'none'} | ${ks['4608'] ?? (k['exitCode'] === 0 ? 'none' : `crashed (exit ${String(k['exitCode'])})`)} | ${f(k['perOpMs'], 3)} |`,
    );
  }
  lines.push(
    '',
    `## Transformer forward at 1024^2 (4608 tokens), ms; 30-layer estimate = T(2) + 28 (T(${n}) - T(2)) / ${n - 2}`,
    '',
  );
  lines.push(
    `| precision | attention | ORT 2 | ORT ${n} | ORT est. 30 | PyTorch 2 | PyTorch ${n} | PyTorch est. 30 | ratio ORT/PyTorch | rel. err vs PyTorch | kernels |`,
    '|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const t of (results['transformer'] as Row[] | undefined) ?? []) {
    if (t['skipped']) {
      lines.push(
        `| ${String(t['precision'])} | ${String(t['config'])} | skipped: ${String(t['skipped'])} | | | | | | | | |`,
      );
      continue;
    }
    const small = graph(t, t['config'] === 'math' ? 'unfused-2' : 'fused-2');
    const bigG = graph(t, `fused-${n}`);
    const o2 = small?.['medianMs'] as number | undefined;
    const on = bigG?.['medianMs'] as number | undefined;
    const backend = torchName[String(t['config'])] ?? '';
    const p2 = tms(t['precision'], 2, backend);
    const pn = tms(t['precision'], n, backend);
    const o30 = o2 !== undefined && on !== undefined ? scaleTo30(o2, on, n) : undefined;
    const p30 = p2 !== undefined && pn !== undefined ? scaleTo30(p2, pn, n) : undefined;
    const ratio =
      o30 !== undefined && p30 !== undefined
        ? o30 / p30
        : o2 !== undefined && p2 !== undefined
          ? o2 / p2
          : undefined;
    lines.push(
      `| ${String(t['precision'])} | ${String(t['config'])} | ${f(o2)} | ${f(on)} | ${f(o30)} | ${f(p2)} | ${f(pn)} | ${f(p30)} | ${f(ratio, 3)} | ${f((bigG ?? small)?.['relErrorVsTorch'], 4)} | ${JSON.stringify((bigG ?? small)?.['kernels'] ?? small?.['error'] ?? t['tail'] ?? '')} |`,
    );
  }
  const io = graph(
    ((results['transformer'] as Row[] | undefined) ?? []).find((t) => graph(t, 'io-probe')),
    'io-probe',
  );
  if (io)
    lines.push(
      '',
      `Host copies + run overhead per transformer pass (same inputs/output, no work): ${f(io['medianMs'], 2)} ms; JS patchify + unpatchify ${f(io['hostJsMs'], 2)} ms.`,
    );
  lines.push('', '## Pipeline over HTTP at 1024^2, 8 transformer passes', '');
  lines.push(
    '| case | kernel | ready s | HTTP ms | pipeline ms | denoise ms | GPU peak +MiB | statuses | note |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const h of [
    ...((results['http'] as Row[] | undefined) ?? []),
    ...((results['card16'] as Row[] | undefined) ?? []),
  ]) {
    const engine = h['engine'] as Row | undefined;
    const note =
      h['started'] === false
        ? `did not start: ${
            String(h['error'])
              .split('\n')
              .find((l) => /ZIMAGE_|error|fatal|memory/i.test(l))
              ?.slice(0, 200) ?? ''
          }`
        : h['freeForRuntimeMiB']
          ? `free ${String(h['freeForRuntimeMiB'])} MiB (missing ${String(h['missingWeightsMiB'])}); readyz after ${String(h['readyzAfter'])}; ${JSON.stringify(h['lastError'] ?? '')}`
          : '';
    lines.push(
      `| ${String(h['name'])} | ${String(engine?.['attentionKernel'] ?? '-')} | ${f((h['readyMs'] as number) / 1000)} | ${f(h['httpMs'])} | ${f(h['pipelineMs'])} | ${f(h['denoiseMs'])} | ${String(h['gpuPeakDeltaMiB'] ?? '-')} | ${JSON.stringify(h['statuses'] ?? [])} | ${note} |`,
    );
  }
  const text = lines.join('\n');
  writeFileSync(path.join(outDir, 'table.md'), `${text}\n`);
  console.log(`\n${text}`);
}
