/**
 * The runtime server on the GPU host, over HTTP: one runtime process per (model, EP, offload,
 * attention), warm-up, then timed requests; peak GPU memory per offload mode from nvidia-smi
 * (sampled every 50 ms, minus the reading before the process started). Prints a table and
 * writes $OUT/<name>.json. Runs from the source tree with Node 26 (see bench/gpu/bundle.sh).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { offloadModes } from '../../src/contract/runtime.ts';
import { gpuMemorySampler, median, type GpuMemorySampler } from './gpu-memory.ts';
import { fullWidthCases, matrix, type GpuCase } from './runtime-cases.ts';
import { startRuntime } from '../../dev/runtime-process.ts';

interface Case extends GpuCase {
  /** Timed requests after the warm-up one. */
  requests: number;
}

interface Timings {
  timings: { generation_ms: number; images: { total_ms: number }[] };
}

async function runCase(c: Case, mem: GpuMemorySampler) {
  await new Promise((r) => setTimeout(r, 500));
  const baseline = mem.last();
  mem.reset();
  const started = performance.now();
  const rt = await startRuntime({
    node: process.execPath,
    timeoutMs: 300_000,
    env: {
      ZIMAGE_MODEL_DIR: c.dir,
      ZIMAGE_EXECUTION_PROVIDER: c.ep,
      ZIMAGE_OFFLOAD: c.offload,
      ZIMAGE_ATTENTION: c.attention,
      ZIMAGE_PRECISION: 'fp16',
      ZIMAGE_MAX_RESOLUTION: '1024x1024',
      ZIMAGE_REQUEST_TIMEOUT_SECONDS: '600',
      ZIMAGE_INTRA_OP_THREADS: '8',
      ZIMAGE_LOG_LEVEL: 'warn',
      ...(process.env['VK_DRIVER_FILES']
        ? { VK_DRIVER_FILES: process.env['VK_DRIVER_FILES'] }
        : {}),
      ...(process.env['LD_LIBRARY_PATH']
        ? { LD_LIBRARY_PATH: process.env['LD_LIBRARY_PATH'] }
        : {}),
    },
  });
  const readyMs = performance.now() - started;
  try {
    const ready = (await (await rt.get('/readyz')).json()) as { engine: unknown };
    const http: number[] = [];
    const pipeline: number[] = [];
    for (let i = 0; i < c.requests + 1; i++) {
      const t0 = performance.now();
      const res = await rt.post('/v1/images/generations', {
        prompt: 'a red fox in the snow',
        size: `${c.size}x${c.size}`,
        seed: i,
        steps: 9,
      });
      const body = (await res.json()) as Timings;
      if (res.status !== 200)
        throw new Error(`HTTP ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
      if (i === 0) continue; // warm
      http.push(performance.now() - t0);
      pipeline.push(body.timings.images[0]?.total_ms ?? NaN);
    }
    return {
      ...c,
      readyMs,
      httpMs: median(http),
      pipelineMs: median(pipeline),
      gpuPeakDeltaMiB: mem.peak() - baseline,
      engine: ready.engine,
    };
  } finally {
    await rt.stop(30_000);
  }
}

/** The tiny model on both EPs in each offload mode, then the full-width export. */
function casesFor(tiny: string | undefined, full: string | undefined): Case[] {
  const tinyBase = { model: 'tiny', attention: 'flash', size: 512, requests: 5 } as const;
  return [
    ...(tiny
      ? matrix({ ...tinyBase, dir: tiny }, { ep: ['cpu', 'webgpu'], offload: offloadModes })
      : []),
    ...(full ? fullWidthCases(full).map((c) => ({ ...c, requests: 2 })) : []),
  ];
}

async function main() {
  const { values } = parseArgs({
    options: {
      tiny: { type: 'string' },
      full: { type: 'string' },
      out: { type: 'string', default: process.env['OUT'] ?? '.' },
      name: { type: 'string', default: 'http' },
    },
  });
  const mem = gpuMemorySampler();
  const results: Record<string, unknown>[] = [];
  for (const c of casesFor(values.tiny, values.full)) {
    try {
      results.push(await runCase(c, mem));
    } catch (err) {
      results.push({ ...c, error: (err as Error).message.slice(0, 2000) });
    }
    console.log(JSON.stringify(results.at(-1)).slice(0, 400));
  }
  mem.stop();
  writeFileSync(path.join(values.out, `${values.name}.json`), JSON.stringify(results, null, 2));
  console.log(
    '\n| model | EP | offload | attention | size | ready s | HTTP ms | pipeline ms | GPU peak +MiB |\n|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of results) {
    const head = `| ${String(r['model'])} | ${String(r['ep'])} | ${String(r['offload'])} | ${String(r['attention'])} | ${String(r['size'])}`;
    const error = typeof r['error'] === 'string' ? r['error'] : undefined;
    if (error) console.log(`${head} | failed: ${error.slice(0, 120)} | | | |`);
    else
      console.log(
        `${head} | ${((r['readyMs'] as number) / 1000).toFixed(1)} | ${(r['httpMs'] as number).toFixed(1)} | ${(r['pipelineMs'] as number).toFixed(1)} | ${String(r['gpuPeakDeltaMiB'])} |`,
      );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
