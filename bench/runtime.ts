/**
 * Runtime benchmarks on the CPU EP with the committed tiny model (one ORT thread: the second
 * core is the server's and the client's):
 * - server overhead: client-measured HTTP time minus the pipeline time the server reports, per
 *   request; the ratio overhead / HTTP time, median over sequential requests (goal <= 2%);
 * - images/s at two sizes through HTTP, next to the same pipeline called in-process (the
 *   baseline), measured in the same run.
 */
import { loadPipeline } from '../src/runtime/pipeline/index.ts';
import { tinyModelDir } from '../dev/paths.ts';
import { startRuntime } from '../dev/runtime-process.ts';
import type { Row } from './cluster.ts';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? NaN;
};

interface GenerateResponse {
  timings: { images: { total_ms: number }[] };
}

async function direct(size: number, requests: number): Promise<number> {
  const pipeline = await loadPipeline({
    modelDir: tinyModelDir,
    executionProvider: 'cpu',
    attention: 'flash',
    offload: 'none',
    precision: 'bf16',
    intraOpThreads: 1,
  });
  await pipeline.pool.warm();
  const job = { prompt: 'a red fox in the snow', width: size, height: size, steps: 9, seed: 1 };
  for (let i = 0; i < 2; i++) await pipeline.generate({ ...job, seed: i });
  const started = performance.now();
  for (let i = 0; i < requests; i++) await pipeline.generate({ ...job, seed: i });
  const elapsed = performance.now() - started;
  await pipeline.release();
  return (requests * 1000) / elapsed;
}

export async function benchRuntime(repeats: number): Promise<Row[]> {
  const rows: Row[] = [];
  const requests = Math.max(10, repeats * 4);
  const rt = await startRuntime({ env: { ZIMAGE_LOG_LEVEL: 'warn' } });
  try {
    for (const size of [256, 512, 1024]) {
      // 1024 px takes ~3 s per image here: fewer requests.
      const count = size === 1024 ? 5 : requests;
      const body = (seed: number) => ({
        prompt: 'a red fox in the snow',
        size: `${size}x${size}`,
        steps: 9,
        seed,
      });
      for (let i = 0; i < 2; i++) await (await rt.post('/v1/images/generations', body(i))).json();
      const ratios: number[] = [];
      const overheads: number[] = [];
      const started = performance.now();
      for (let i = 0; i < count; i++) {
        const t0 = performance.now();
        const res = await rt.post('/v1/images/generations', body(i));
        const json = (await res.json()) as GenerateResponse;
        const http = performance.now() - t0;
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
        const pipelineMs = json.timings.images[0]?.total_ms ?? NaN;
        overheads.push(http - pipelineMs);
        ratios.push((http - pipelineMs) / http);
      }
      const httpRate = (count * 1000) / (performance.now() - started);
      const directRate = await direct(size, count);
      rows.push({
        name: `runtime overhead ${size}px (tiny, CPU EP)`,
        value: `${(median(ratios) * 100).toFixed(2)}%`,
        detail: `median of ${count} sequential requests; ${median(overheads).toFixed(1)} ms per request (HTTP, JSON, base64 PNG, worker hop)`,
      });
      rows.push({
        name: `images/s ${size}px (tiny, CPU EP, 1 ORT thread)`,
        value: httpRate.toFixed(2),
        detail: `through HTTP; in-process pipeline in the same run: ${directRate.toFixed(2)} (ratio ${(httpRate / directRate).toFixed(3)})`,
      });
    }
  } finally {
    await rt.stop();
  }
  return rows;
}
