/**
 * The CUDA run on the GPU host (issue 11): builds, checks and times every variant in one go,
 * writes raw JSON and prints a short table last. bench/gpu/torch_reference.py (started first,
 * in the background) exports the full-width model and times PyTorch on the same weights;
 * this script waits for it, then:
 *   1. kernels: each attention setting x precision, ORT's own kernel report at 64, 1056 and 4608
 *      tokens and the time per MultiHeadAttention (chains of 1 and 17 ops: difference / 16);
 *   2. transformer: forwards at 1024^2 through the runtime's session options, 2 and N layers
 *      (per-layer = difference / (N - 2)), checked against PyTorch's output, plus the host copies;
 *      `fused` is the exporter's graph (tools/export/fuse_graph.py's RMSNorm and RoPE rewrites,
 *      RoPE in the graph's precision); for cudnn also the plain export (plain) and one rewrite
 *      each of it (fusedr: RoPE as one fp32 RotaryEmbedding; fusedn: RMSNorm as
 *      SimplifiedLayerNormalization), graphOptimizationLevel 'extended' (fusedE), ORT's
 *      TunableOp GEMMs (cudnn-tunable), and the VAE decoder at 1024^2 with the host work after it;
 *   3. http: the runtime server, 1024^2, 8 transformer passes, per offload mode and attention;
 *   4. card16: the same with a ballast process leaving a 16 GB card, and the out-of-memory path
 *      (a ballast leaving the weights and a little more: squeeze).
 * Order of the run: kernels (while the exports finish), http, card16, transformer, then the
 * refusal and unfused cases.
 * Usage: node bench/gpu/cuda-bench.ts --prep /tmp/zbench --out DIR [--layers 8] [--phases ...]
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  card16Cases,
  envConfigs,
  extraCases,
  httpCases,
  probeTokens,
  type EnvConfig,
} from './cuda-cases.ts';
import {
  componentBytes,
  missingBytes,
  runHttpCase,
  startBallast,
  type HttpContext,
} from './cuda-http.ts';
import { printTables } from './cuda-table.ts';
import { gpuMemorySampler } from './gpu-memory.ts';
import { attributeReports, runKernelProbe } from '../../src/runtime/pipeline/kernel-probe.ts';
import type { Precision } from '../../src/contract/runtime.ts';

const { values } = parseArgs({
  options: {
    prep: { type: 'string', default: '/tmp/zbench' },
    out: { type: 'string', default: process.env['OUT'] ?? '.' },
    layers: { type: 'string', default: '8' },
    phases: { type: 'string', default: 'kernels,transformer,http,card16' },
    ep: { type: 'string', default: 'cuda' },
    size: { type: 'string', default: '1024' },
    heads: { type: 'string', default: '30' },
    'head-dim': { type: 'string', default: '128' },
    'wait-s': { type: 'string', default: '1500' },
    /** Only the HTTP cases whose name matches this regular expression (a second, shorter run). */
    only: { type: 'string' },
    /** Only these transformer-phase configurations (comma-separated names, e.g. cudnn). */
    'transformer-configs': { type: 'string' },
    /** Kernel-check sizes; a CPU smoke test takes small ones. */
    tokens: { type: 'string', default: probeTokens.join(',') },
  },
});
const prep = values.prep;
const layers = Number(values.layers);
const ep = values.ep === 'cpu' ? 'cpu' : 'cuda';
const phases = new Set(values.phases.split(','));
const precisions: Precision[] = ['bf16', 'fp16'];
const kernelTokens = values.tokens.split(',').map(Number);
const onlyConfigs = values['transformer-configs']?.split(',');
const results: Record<string, unknown> = { started: new Date().toISOString(), layers };
const save = () =>
  writeFileSync(path.join(values.out, 'results.json'), JSON.stringify(results, null, 2));
const log = (...parts: unknown[]) =>
  console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...parts);

/** The process env without ORT's switches, plus one setting's. */
function envWith(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('ORT_')),
  );
  return { ...env, ORT_DISABLE_TELEMETRY: '1', ...extra };
}

/** Waits for one of torch_reference.py's marker files; false if it failed or timed out. */
async function waitFor(marker: string): Promise<boolean> {
  const deadline = Date.now() + Number(values['wait-s']) * 1000;
  while (Date.now() < deadline) {
    if (existsSync(path.join(prep, marker))) return true;
    if (existsSync(path.join(prep, 'prep.failed'))) return false;
    await new Promise((r) => setTimeout(r, 2000));
  }
  return false;
}

async function kernels() {
  const rows: Record<string, unknown>[] = [];
  for (const precision of precisions)
    for (const config of envConfigs) {
      const r = await runKernelProbe(
        {
          heads: Number(values.heads),
          headDim: Number(values['head-dim']),
          precision,
          tokens: kernelTokens,
          chains: [1, 17],
          repeats: 10,
          ep,
        },
        envWith(config.env),
      );
      const at = (chain: number, tokens: number) =>
        r.cases.find((c) => c.chain === chain && c.tokens === tokens);
      const big = kernelTokens.at(-1) ?? 0;
      const one = at(1, big)?.medianMs;
      const many = at(17, big)?.medianMs;
      const row = {
        config: config.name,
        precision,
        env: config.env,
        kernels: Object.fromEntries(kernelTokens.map((t) => [t, at(1, t)?.kernels[0] ?? null])),
        perOpMs: one !== undefined && many !== undefined ? (many - one) / 16 : null,
        exitCode: r.exitCode,
        ...(r.exitCode === 0 ? {} : { tail: r.tail.slice(-1500) }),
      };
      log('kernel', JSON.stringify(row).slice(0, 400));
      rows.push(row);
    }
  return rows;
}

function runChild(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 240_000,
): Promise<{ out: string; err: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    // A hung child (a CUDA hang, endless tuning) must not eat the device time of later phases.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ out, err, code });
    });
  });
}

/**
 * Graphs torch_reference.py wrote beside the exporter's `fused`: the plain export (what `fused`
 * is rewritten from) and one tools/export/fuse_graph.py rewrite each of it.
 */
const rewrites = ['plain', 'fusedr', 'fusedn'];

/** The graphs one attention setting times: 2 and N layers (+ the host-copy probe), or unfused. */
function graphsFor(config: EnvConfig, precision: Precision) {
  const ref = (n: number) => `${prep}/ref-${precision}-${n}.bin`;
  const dir = (n: number) => `${prep}/fw${n}/transformer`;
  if (config.name === 'math')
    return [{ name: 'unfused-2', file: `${dir(2)}/unfused.${precision}.onnx`, ref: ref(2) }];
  const pair = (prefix: string, file = prefix, extra: object = {}) =>
    [2, layers].map((n) => ({
      name: `${prefix}-${n}`,
      file: `${dir(n)}/${file}.${precision}.onnx`,
      ref: ref(n),
      ...extra,
    }));
  const graphs: Record<string, unknown>[] = pair('fused');
  if (config.name !== 'cudnn') return graphs;
  graphs.push({ name: 'io-probe', file: 'io-probe' });
  if (precision === 'bf16') {
    // The VAE at 1024^2 (its fp16 file: the runtime's choice under bf16, sessions.ts).
    graphs.push({
      name: 'vae-1024',
      file: `${prep}/fw${layers}/vae_decoder/model.fp16.onnx`,
      feeds: 'vae',
      latent: Number(values.size) / 8,
    });
    graphs.push(...pair('fusedE', 'fused', { options: { graphOptimizationLevel: 'extended' } }));
  }
  // Last: a rewrite that broke the CUDA context would take the graphs after it down too.
  for (const v of rewrites)
    if ([2, layers].every((n) => existsSync(`${dir(n)}/${v}.${precision}.onnx`)))
      graphs.push(...pair(v));
  return graphs;
}

async function transformerCase(config: EnvConfig, precision: Precision) {
  const script = new URL('./cuda-transformer.ts', import.meta.url).pathname;
  const request = {
    graphs: graphsFor(config, precision),
    inputs: `${prep}/inputs`,
    repeats: 10,
    ep,
  };
  const r = await runChild(
    [script, JSON.stringify(request)],
    envWith({ ...config.env, ORT_ENABLE_ATTENTION_KERNEL_DEBUG_INFO: '1' }),
  );
  const lines = r.out.split('\n');
  const line = lines.find((l) => l.startsWith('ZRESULT '));
  const byGraph = [attributeReports(r.out), attributeReports(r.err)];
  // A child that died (crash, timeout) still reported each finished graph on a ZPARTIAL line.
  const graphs = line
    ? (JSON.parse(line.slice(8)) as Record<string, unknown>[])
    : lines
        .filter((l) => l.startsWith('ZPARTIAL '))
        .map((l) => JSON.parse(l.slice(9)) as Record<string, unknown>);
  for (const g of graphs) {
    const ks = byGraph.flatMap((m) => m.get(String(g['name'])) ?? []);
    g['kernels'] = Object.fromEntries(
      [...new Set(ks)].map((k) => [k, ks.filter((x) => x === k).length]),
    );
  }
  return {
    config: config.name,
    precision,
    exitCode: r.code,
    graphs,
    ...(line ? {} : { tail: (r.out + r.err).slice(-2000) }),
  };
}

async function transformer() {
  // From the kernel check of the first H200 run: bf16 runs only cuDNN flash (flash and efficient
  // fall back to the unfused kernel, which breaks); ORT's own choice is cuDNN flash in both.
  const wanted: Record<Precision, string[]> = {
    bf16: ['cudnn', 'cudnn-tunable', 'math'],
    fp16: ['cudnn', 'flash', 'efficient', 'math'],
  };
  const rows: Record<string, unknown>[] = [];
  for (const precision of precisions)
    for (const config of [...envConfigs, mathConfig, tunableConfig].filter(
      (c) => wanted[precision].includes(c.name) && (!onlyConfigs || onlyConfigs.includes(c.name)),
    )) {
      const row = await transformerCase(config, precision);
      log('transformer', JSON.stringify(row).slice(0, 600));
      rows.push(row);
    }
  return rows;
}

const mathConfig: EnvConfig = {
  name: 'math',
  backend: 'math',
  env: envConfigs.find((c) => c.name === 'mha-unfused')?.env ?? {},
};

/** cudnn with ORT's TunableOp (GEMM algorithms tuned on the first run, env switches of the EP). */
const tunableConfig: EnvConfig = {
  name: 'cudnn-tunable',
  backend: 'cudnn',
  env: {
    ...(envConfigs.find((c) => c.name === 'cudnn')?.env ?? {}),
    ORT_CUDA_TUNABLE_OP_ENABLE: '1',
    ORT_CUDA_TUNABLE_OP_TUNING_ENABLE: '1',
  },
};

async function http(which: 'http' | 'card16' | 'extra') {
  const card16 = which === 'card16';
  const mem = gpuMemorySampler();
  const ctx: HttpContext = {
    models: { big: `${prep}/fw${layers}`, small: `${prep}/fw2`, plain: `${prep}/fw${layers}p` },
    size: Number(values.size),
    steps: 8,
    ep,
    mem,
  };
  const rows: Record<string, unknown>[] = [];
  const only = values.only ? new RegExp(values.only) : undefined;
  for (const c of { http: httpCases, card16: card16Cases, extra: extraCases }[which].filter(
    (x) => !only || only.test(x.name),
  )) {
    let ballast;
    let missing = 0;
    try {
      if (c.squeezeMiB !== undefined) {
        const dir = ctx.models[c.model];
        const weights = ['text_encoder', 'transformer', 'vae_decoder'].reduce(
          (s, k) => s + componentBytes(dir, k, c.precision),
          0,
        );
        ballast = await startBallast(Math.round(weights / 2 ** 20) + c.squeezeMiB);
      } else if (card16) {
        missing = missingBytes(ctx.models[c.model], c.offload);
        ballast = await startBallast(16384 - Math.round(missing / 2 ** 20));
      }
      const row = {
        ...(await runHttpCase(c, ctx)),
        ...(ballast
          ? {
              ballastHeldMiB: ballast.heldMiB,
              freeForRuntimeMiB: ballast.freeMiB,
              missingWeightsMiB: Math.round(missing / 2 ** 20),
            }
          : {}),
      };
      log('http', JSON.stringify(row).slice(0, 700));
      rows.push(row);
    } catch (err) {
      log('http', c.name, 'failed:', (err as Error).message.slice(-500));
      rows.push({ ...c, error: (err as Error).message.slice(-2000) });
    } finally {
      ballast?.stop();
      await new Promise((r) => setTimeout(r, 1500));
    }
    results[which] = rows;
    save();
  }
  mem.stop();
  return rows;
}

async function main() {
  // The kernel check needs the GPU to itself: after PyTorch's timings, while the exports run.
  log('torch timings', (await waitFor('torch.timed')) ? 'done' : 'NOT done');
  if (phases.has('kernels')) results['kernels'] = await kernels();
  writeFileSync(path.join(prep, 'kernels.done'), '');
  save();
  const ok = await waitFor('prep.done');
  results['prepOk'] = ok;
  log('prep', ok ? 'done' : 'NOT done');
  // The pipeline first (the cases the first H200 run could not start), then the transformer's
  // kernel comparison and variants, then the refusals.
  if (ok && phases.has('http')) await http('http');
  if (ok && phases.has('card16')) await http('card16');
  if (ok && phases.has('transformer')) results['transformer'] = await transformer();
  save();
  if (ok && phases.has('http')) await http('extra');
  results['finished'] = new Date().toISOString();
  save();
  printTables(results, prep, values.out);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
