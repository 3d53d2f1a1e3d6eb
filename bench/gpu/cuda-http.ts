/**
 * cuda-bench.ts's pipeline phases: the runtime server over HTTP at 1024x1024 per case, and the
 * 16 GB card made real by a ballast process holding the rest of the H200.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { median, type GpuMemorySampler } from './gpu-memory.ts';
import type { HttpCase } from './cuda-cases.ts';
import { startRuntime } from '../../dev/runtime-process.ts';

interface Body {
  timings?: {
    images: { total_ms: number; denoise_ms: number; decode_ms: number; encode_ms: number }[];
  };
  error?: { code: string; message: string };
}

export interface HttpContext {
  models: Record<HttpCase['model'], string>;
  size: number;
  steps: number;
  ep: 'cuda' | 'cpu';
  mem: GpuMemorySampler;
}

function runtimeEnv(c: HttpCase, ctx: HttpContext): Record<string, string> {
  const pass = ['LD_LIBRARY_PATH', 'NODE_PATH'].filter((k) => process.env[k]);
  return {
    ZIMAGE_MODEL_DIR: ctx.models[c.model],
    ZIMAGE_EXECUTION_PROVIDER: ctx.ep,
    ZIMAGE_OFFLOAD: c.offload,
    ZIMAGE_ATTENTION: c.attention,
    ZIMAGE_PRECISION: c.precision,
    ZIMAGE_MAX_RESOLUTION: `${ctx.size}x${ctx.size}`,
    // Bounds a stuck generation (the runtime answers 504 between steps); cpu offload takes ~21 s.
    ZIMAGE_REQUEST_TIMEOUT_SECONDS: '120',
    ZIMAGE_INTRA_OP_THREADS: '8',
    ZIMAGE_LOG_LEVEL: 'warn',
    ...Object.fromEntries(pass.map((k) => [k, process.env[k] ?? ''])),
  };
}

type Runtime = Awaited<ReturnType<typeof startRuntime>>;

const timingKeys = ['total_ms', 'denoise_ms', 'encode_ms', 'decode_ms'] as const;

async function generate(rt: Runtime, ctx: HttpContext, seed: number) {
  const res = await rt
    .post('/v1/images/generations', {
      prompt: 'a red fox in the snow, watercolor',
      size: `${ctx.size}x${ctx.size}`,
      seed,
      steps: ctx.steps,
    })
    .catch(() => undefined);
  return res && { status: res.status, body: (await res.json()) as Body };
}

/** A warm-up request, then the timed ones; after a failure, waits for recovery (or the exit). */
async function requests(rt: Runtime, c: HttpCase, ctx: HttpContext) {
  const statuses: number[] = [];
  const http: number[] = [];
  const timings = Object.fromEntries(timingKeys.map((k) => [k, [] as number[]]));
  let lastError: Body['error'];
  const readyz: number[] = [];
  // Device time is scarce: a case that keeps failing (the squeeze cases) stops after 150 s.
  const deadline = performance.now() + 150_000;
  for (let i = 0; i < c.requests + 1 && rt.proc.alive() && performance.now() < deadline; i++) {
    const t0 = performance.now();
    const res = await generate(rt, ctx, i);
    if (!res) break; // the runtime exited (e.g. out-of-memory restarts used up)
    statuses.push(res.status);
    if (res.status !== 200) {
      lastError = res.body.error;
      // An out-of-memory failure: wait until it has recreated its sessions (or exited).
      readyz.push(await waitReady(rt));
      continue;
    }
    if (i === 0) continue; // warm-up request
    http.push(performance.now() - t0);
    const image = res.body.timings?.images[0];
    for (const k of timingKeys) timings[k]?.push(image?.[k] ?? NaN);
  }
  const m = (k: (typeof timingKeys)[number]) => median(timings[k] ?? []);
  return {
    statuses,
    httpMs: median(http),
    pipelineMs: m('total_ms'),
    denoiseMs: m('denoise_ms'),
    encodeMs: m('encode_ms'),
    decodeMs: m('decode_ms'),
    readyzWhileRecovering: readyz,
    lastError,
  };
}

export async function runHttpCase(c: HttpCase, ctx: HttpContext): Promise<Record<string, unknown>> {
  await new Promise((r) => setTimeout(r, 500));
  const baseline = ctx.mem.last();
  ctx.mem.reset();
  const started = performance.now();
  let rt;
  try {
    rt = await startRuntime({
      node: process.execPath,
      timeoutMs: 120_000,
      env: runtimeEnv(c, ctx),
    });
  } catch (err) {
    return { ...c, started: false, error: (err as Error).message.slice(-3000) };
  }
  const readyMs = performance.now() - started;
  try {
    const ready = (await (await rt.get('/readyz')).json()) as { engine: unknown };
    const metrics = await (await rt.get('/metrics')).text();
    const configInfo = metrics.split('\n').find((l) => l.startsWith('zimage_config_info{'));
    const run = await requests(rt, c, ctx);
    const after = await rt.get('/readyz').catch(() => undefined);
    const exitCode = rt.proc.alive() ? undefined : await rt.proc.exited;
    return {
      ...c,
      started: true,
      readyMs,
      engine: ready.engine,
      configInfo,
      ...run,
      readyzAfter: after?.status ?? 'exited',
      exitCode,
      gpuBaselineMiB: baseline,
      gpuPeakDeltaMiB: ctx.mem.peak() - baseline,
      log: rt.proc.tail(30),
    };
  } finally {
    await rt.stop(30_000);
  }
}

/** Polls /readyz until 200 (ms waited), or -1 when the runtime exits or 60 s pass. */
async function waitReady(rt: {
  get(p: string): Promise<Response>;
  proc: { alive(): boolean };
}): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < 60_000 && rt.proc.alive()) {
    const res = await rt.get('/readyz').catch(() => undefined);
    if (res?.status === 200) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 200));
  }
  return -1;
}

/** Bytes of a component's files for one precision (graph + external data). */
export function componentBytes(dir: string, component: string, precision: string): number {
  const files = readdirSync(path.join(dir, component)).filter((f) =>
    f.includes(`.${precision}.onnx`),
  );
  return files.reduce((sum, f) => sum + statSync(path.join(dir, component, f)).size, 0);
}

function freeMiB(): number {
  const out = execFileSync('nvidia-smi', [
    '--query-gpu=memory.free',
    '--format=csv,noheader,nounits',
  ]);
  return Number.parseInt(out.toString().trim(), 10);
}

/**
 * The real model's weights the exported one lacks on the GPU in this offload mode: Z-Image's
 * bf16 transformer is ~12.3 GB and its text encoder (Qwen3-4B) ~8.0 GB (docs/performance.md); the
 * export has N of 30 main layers and a 2-layer text encoder. `model` holds one component at a
 * time, the transformer being the largest; `cpu` keeps only the transformer on the GPU.
 */
export function missingBytes(dir: string, offload: string): number {
  const tr = 12.3e9 - componentBytes(dir, 'transformer', 'bf16');
  const te = 8.0e9 - componentBytes(dir, 'text_encoder', 'bf16');
  return offload === 'none' ? tr + te : tr;
}

export interface Ballast {
  proc: ChildProcess;
  freeMiB: number;
  heldMiB: number;
  stop(): void;
}

/** A PyTorch process holding all but `leaveMiB` of the card (plain cudaMalloc, not managed). */
export async function startBallast(leaveMiB: number): Promise<Ballast> {
  const hold = freeMiB() - leaveMiB;
  const proc = spawn(
    'python3',
    [
      '-c',
      'import sys,time,torch; x=torch.empty(int(sys.argv[1])<<20,dtype=torch.uint8,device="cuda"); print("held",flush=True); time.sleep(3600)',
      String(hold),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    proc.stdout?.on('data', () => resolve());
    proc.on('exit', (code) => reject(new Error(`ballast exited ${String(code)}`)));
  });
  await new Promise((r) => setTimeout(r, 500));
  return { proc, freeMiB: freeMiB(), heldMiB: hold, stop: () => proc.kill('SIGKILL') };
}
