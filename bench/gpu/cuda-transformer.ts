/**
 * Child process of cuda-bench.ts: one attention setting (the parent sets ORT's env switches and
 * ORT_ENABLE_ATTENTION_KERNEL_DEBUG_INFO=1), several transformer graphs. Per graph: session
 * creation with the runtime's own options (CUDA EP, CPU fallback disabled), one warm-up run
 * framed by `ZPROBE begin/end <name>` markers (ORT's kernel lines fall between them), timed runs
 * with the pipeline's fp32 CPU tensors, and the output checked against PyTorch's (rel. error).
 * Also times a probe graph with the same inputs and output but no work: the binding's host
 * copies and run overhead per transformer pass. A graph may carry session-option overrides
 * (e.g. graphOptimizationLevel), and `feeds: 'vae'` times the VAE decoder at the latent size
 * instead, followed by the host work after it (toRgb8, the runtime's PNG writer, fast-png's).
 * Prints one `ZRESULT <json>` line.
 * Usage: node bench/gpu/cuda-transformer.ts '<json: {graphs, inputs, repeats, ep}>'
 */
import { existsSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { encode as fastPngEncode } from 'fast-png';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { gpuMemorySampler, median } from './gpu-memory.ts';
import { onnxType, writeOnnxModel, type OnnxNode } from '../../src/runtime/pipeline/onnx-writer.ts';
import { sessionOptions } from '../../src/runtime/pipeline/sessions.ts';
import { imageTokens, unpatchify } from '../../src/runtime/pipeline/tokens.ts';
import { encodePng, toRgb8 } from '../../src/runtime/pipeline/image.ts';
import type { ExecutionProvider } from '../../src/contract/runtime.ts';

interface Graph {
  name: string;
  /** An .onnx file, or 'io-probe' for the no-work graph. */
  file: string;
  /** PyTorch's output for the same inputs (fp32 [16, h, w]), when there is one. */
  ref?: string;
  /** Overrides of the runtime's session options (sessions.ts sessionOptions). */
  options?: Partial<InferenceSession.SessionOptions>;
  /** 'vae': a VAE decoder graph fed random latents [1, 16, latent, latent]. */
  feeds?: 'vae';
  latent?: number;
}
interface Request {
  graphs: Graph[];
  inputs: string;
  repeats: number;
  ep: ExecutionProvider;
}
interface InputSpec {
  dtype: 'float32' | 'bool';
  shape: number[];
}

const mark = (line: string) => {
  writeSync(1, `ZPROBE ${line}\n`);
  writeSync(2, `ZPROBE ${line}\n`);
};

function loadFeeds(dir: string): Record<string, Tensor> {
  const specs = JSON.parse(readFileSync(path.join(dir, 'inputs.json'), 'utf8')) as Record<
    string,
    InputSpec
  >;
  const feeds: Record<string, Tensor> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const buf = readFileSync(path.join(dir, `${name}.bin`));
    const bytes = new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    feeds[name] =
      spec.dtype === 'bool'
        ? new Tensor('bool', bytes, spec.shape)
        : new Tensor('float32', new Float32Array(bytes.buffer), spec.shape);
  }
  return feeds;
}

/** Same inputs and output as the transformer, no work: each input is read (so copied to the GPU). */
function ioProbe(feeds: Record<string, Tensor>): Uint8Array {
  const nodes: OnnxNode[] = [];
  const maxes: string[] = [];
  for (const [name, t] of Object.entries(feeds)) {
    let source = name;
    if (t.type === 'bool') {
      nodes.push({ op: 'Cast', inputs: [name], outputs: [`${name}_f`], attributes: { to: 1 } });
      source = `${name}_f`;
    }
    nodes.push({
      op: 'ReduceMax',
      inputs: [source],
      outputs: [`${name}_m`],
      attributes: { keepdims: 0 },
    });
    maxes.push(`${name}_m`);
  }
  nodes.push({ op: 'Sum', inputs: maxes, outputs: ['total'] });
  nodes.push({ op: 'Sub', inputs: ['total', 'total'], outputs: ['zero'] });
  nodes.push({ op: 'Add', inputs: ['x_tokens', 'zero'], outputs: ['out'] });
  const value = (name: string, t: Tensor) => ({
    name,
    type: t.type === 'bool' ? onnxType.bool : onnxType.float,
    shape: [...t.dims],
  });
  const x = feeds['x_tokens'];
  if (!x) throw new Error('inputs lack x_tokens');
  return writeOnnxModel({
    inputs: Object.entries(feeds).map(([n, t]) => value(n, t)),
    outputs: [value('out', x)],
    nodes,
    opsets: { '': 18 },
  });
}

function relError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
    scale = Math.max(scale, Math.abs(b[i] ?? 0));
  }
  return diff / Math.max(scale, 1e-12);
}

function vaeFeeds(latent: number): Record<string, Tensor> {
  const n = 16 * latent * latent;
  const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 0.9);
  return { latents: new Tensor('float32', data, [1, 16, latent, latent]) };
}

/** The host work after the VAE: float image -> RGB bytes -> PNG, the runtime's and fast-png's. */
function hostAfterVae(image: Float32Array, side: number) {
  const t0 = performance.now();
  const rgb = toRgb8(image, side, side);
  const t1 = performance.now();
  const png = encodePng(rgb, side, side);
  const t2 = performance.now();
  const old = fastPngEncode({ width: side, height: side, data: rgb, channels: 3, depth: 8 });
  const t3 = performance.now();
  return {
    toRgb8Ms: t1 - t0,
    pngMs: t2 - t1,
    pngBytes: png.length,
    fastPngMs: t3 - t2,
    fastPngBytes: old.length,
  };
}

async function runGraph(g: Graph, req: Request, transformerFeeds: Record<string, Tensor>) {
  const feeds = g.feeds === 'vae' ? vaeFeeds(g.latent ?? 128) : transformerFeeds;
  const mem = gpuMemorySampler();
  await new Promise((r) => setTimeout(r, 300));
  const baseline = mem.last();
  mem.reset();
  const t0 = performance.now();
  const options = { ...sessionOptions(req.ep, { intraOpThreads: 4 }), ...g.options };
  const session =
    g.file === 'io-probe'
      ? await InferenceSession.create(ioProbe(feeds), options)
      : await InferenceSession.create(g.file, options);
  const createMs = performance.now() - t0;
  mark(`begin ${g.name}`);
  let out = await session.run(feeds);
  mark(`end ${g.name}`);
  const times: number[] = [];
  for (let i = 0; i < req.repeats; i++) {
    const t = performance.now();
    out = await session.run(feeds);
    times.push(performance.now() - t);
  }
  const pred = out[session.outputNames[0] ?? '']?.data as Float32Array;
  const result: Record<string, unknown> = {
    name: g.name,
    createMs,
    medianMs: median(times),
    times,
    gpuBaselineMiB: baseline,
    gpuPeakDeltaMiB: mem.peak() - baseline,
    ...(g.options ? { options: g.options } : {}),
  };
  if (g.feeds === 'vae') {
    Object.assign(result, hostAfterVae(pred, (g.latent ?? 128) * 8));
  } else {
    const x = feeds['x_tokens'];
    const nx = x?.dims[1] ?? 0;
    const side = Math.round(Math.sqrt(nx)) * 2; // latent side: tokens are 2x2 patches
    // The host-side work of one step besides run(): patchify and unpatchify in JS (tokens.ts).
    const latents = new Float32Array(16 * side * side);
    const h0 = performance.now();
    imageTokens(latents, 16, side, side, nx);
    const image = unpatchify(pred, 16, side, side);
    result['hostJsMs'] = performance.now() - h0;
    if (g.ref && existsSync(g.ref)) {
      const buf = readFileSync(g.ref);
      const ref = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
      result['relErrorVsTorch'] = relError(image, ref);
    }
  }
  await session.release();
  mem.stop();
  return result;
}

const req = JSON.parse(process.argv[2] ?? '{}') as Request;
const feeds = loadFeeds(req.inputs);
const results: Record<string, unknown>[] = [];
for (const g of req.graphs) {
  try {
    results.push(await runGraph(g, req, feeds));
  } catch (err) {
    results.push({ name: g.name, error: (err as Error).message.slice(0, 2000) });
  }
  writeSync(1, `ZPARTIAL ${JSON.stringify(results.at(-1))}\n`);
}
writeSync(1, `ZRESULT ${JSON.stringify(results)}\n`);
// After a session that failed to initialise on the CUDA EP, ORT 1.30's Node binding kept the
// process from exiting (twice on an H200, killed by the parent's timeout): exit explicitly.
process.exit(0);
