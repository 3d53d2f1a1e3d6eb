/**
 * The runtime's GPU run (docs/performance.md, "Runtime on a GPU"): builds, checks and times every
 * variant in one go on the lent GPU host, prints a short table last and writes details to
 * $OUT/results.json.
 *
 * Runs from the source tree on the GPU host (bench/gpu/on-device.sh unpacks Node, ORT and the
 * production node_modules). Cases: the tiny model on the CPU EP (baseline) and the WebGPU EP, per
 * offload mode and attention variant; optionally a full-width export (--full DIR). Peak GPU
 * memory comes from nvidia-smi sampled every 50 ms, minus the reading before the case.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gpuMemorySampler, median, type GpuMemorySampler } from './gpu-memory.ts';
import { fullWidthCases, matrix, type GpuCase } from './runtime-cases.ts';
import { loadPipeline } from '../../src/runtime/pipeline/index.ts';

interface Case extends GpuCase {
  /** Timed generations after the warm-up one. */
  repeats: number;
  allowCpuFallback?: boolean;
}

async function runCase(c: Case, mem: GpuMemorySampler) {
  await new Promise((r) => setTimeout(r, 300));
  const baseline = mem.last();
  mem.reset();
  const t0 = performance.now();
  const pipeline = await loadPipeline({
    modelDir: c.dir,
    executionProvider: c.ep,
    attention: c.attention,
    offload: c.offload,
    precision: 'fp16',
    allowCpuFallback: c.allowCpuFallback ?? false,
  });
  await pipeline.pool.warm();
  const createMs = performance.now() - t0;
  const job = {
    prompt: 'A red fox in the snow, watercolor',
    width: c.size,
    height: c.size,
    seed: 7,
    steps: 9,
  };
  const warm = await pipeline.generate(job);
  const totals: number[] = [];
  const steps: number[] = [];
  let png = warm.png;
  for (let i = 0; i < c.repeats; i++) {
    const r = await pipeline.generate(job);
    totals.push(r.timings.totalMs);
    steps.push(median(r.timings.stepMs));
    png = r.png;
  }
  await new Promise((r) => setTimeout(r, 200));
  const result = {
    ...c,
    createMs,
    warmupMs: warm.timings.totalMs,
    medianMs: median(totals),
    medianStepMs: median(steps),
    totals,
    residentAfter: pipeline.info().resident,
    providers: pipeline.info().componentProviders,
    gpuBaselineMiB: baseline,
    gpuPeakDeltaMiB: mem.peak() - baseline,
    pngSha256: createHash('sha256').update(png).digest('hex').slice(0, 16),
  };
  await pipeline.release();
  return result;
}

/** The tiny model on both EPs at two sizes, then the WebGPU EP's offload modes and math attention. */
function casesFor(tiny: string | undefined, full: string | undefined, repeats: number): Case[] {
  const tinyCases = (dir: string): Case[] => {
    const base = { model: 'tiny', dir, attention: 'flash', repeats } as const;
    return [
      ...matrix({ ...base, offload: 'none' }, { size: [256, 512], ep: ['cpu', 'webgpu'] }),
      ...matrix({ ...base, ep: 'webgpu', size: 256 }, { offload: ['model', 'cpu'] }),
      { ...base, ep: 'webgpu', offload: 'none', attention: 'math', size: 256 },
    ];
  };
  return [
    ...(tiny ? tinyCases(tiny) : []),
    ...(full ? fullWidthCases(full).map((c) => ({ ...c, repeats: 2 })) : []),
  ];
}

function printTable(results: Record<string, unknown>[]): void {
  console.log(
    '\n| model | EP | offload | attention | size | median ms | step ms | GPU peak +MiB | resident | png |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const head = `| ${String(r['model'])} | ${String(r['ep'])}${r['allowCpuFallback'] ? ' (+cpu fallback)' : ''} | ${String(r['offload'])} | ${String(r['attention'])} | ${String(r['size'])}`;
    if (r['error']) {
      console.log(`${head} | failed | | | | |`);
      continue;
    }
    console.log(
      `${head} | ${(r['medianMs'] as number).toFixed(1)} | ${(r['medianStepMs'] as number).toFixed(1)} | ${String(r['gpuPeakDeltaMiB'])} | ${(r['residentAfter'] as string[]).join(',')} | ${String(r['pngSha256'])} |`,
    );
  }
}

/** A case that fails only because a node has no GPU kernel is retried with CPU fallback. */
async function runWithFallback(c: Case, mem: GpuMemorySampler) {
  const label = `${c.model} ${c.ep} offload=${c.offload} attention=${c.attention} ${c.size}px`;
  try {
    const r = await runCase(c, mem);
    console.log(`${label}: median ${r.medianMs.toFixed(1)} ms, +${r.gpuPeakDeltaMiB} MiB`);
    return [r];
  } catch (err) {
    const message = (err as Error).message;
    console.log(`${label}: FAILED ${message.slice(0, 300)}`);
    const failed = { ...c, error: message };
    if (c.ep === 'cpu' || !/fallback|assigned to the default CPU/i.test(message)) return [failed];
    try {
      return [failed, await runCase({ ...c, allowCpuFallback: true }, mem)];
    } catch (err2) {
      return [failed, { ...c, allowCpuFallback: true, error: (err2 as Error).message }];
    }
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      tiny: { type: 'string' },
      full: { type: 'string' },
      out: { type: 'string', default: process.env['OUT'] ?? '.' },
      repeats: { type: 'string', default: '5' },
    },
  });
  const cases = casesFor(values.tiny, values.full, Number(values.repeats));
  const mem = gpuMemorySampler();
  const results: Record<string, unknown>[] = [];
  for (const c of cases) results.push(...(await runWithFallback(c, mem)));
  mem.stop();
  writeFileSync(path.join(values.out, 'results.json'), JSON.stringify(results, null, 2));
  printTable(results);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
