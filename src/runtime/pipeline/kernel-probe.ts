/**
 * Which attention kernel ONNX Runtime's CUDA EP really runs. ORT picks it per node from its env
 * switches, the precision, the head size and the GPU, and says so only on stdout when
 * ORT_ENABLE_ATTENTION_KERNEL_DEBUG_INFO=1 (lines `Operator=MultiHeadAttention DataType=bf16
 * SdpaKernel=CUDNN_FLASH_ATTENTION`). Native stdout cannot be read from inside the process, so
 * a child process (kernel-probe-main.ts) runs a MultiHeadAttention graph of the model's heads and
 * head size with the same environment and the parent reads its output.
 *
 * Seen on an H200 (ORT 1.30, docs/performance.md): `flash` in bf16 silently ran the
 * memory-efficient kernel, 6x slower than cuDNN flash. The probe is how the runtime refuses that.
 */
import { spawn } from 'node:child_process';
import { onnxType, writeOnnxModel, type OnnxGraph, type OnnxNode } from './onnx-writer.ts';
import type { ExecutionProvider, Precision } from '../../contract/runtime.ts';

export interface AttentionShape {
  heads: number;
  headDim: number;
  precision: Precision;
}

/** q, k, v [1, S, heads*headDim] fp32 -> Cast -> `chain` MultiHeadAttention nodes -> fp32. */
export function attentionProbeGraph(shape: AttentionShape, chain = 1): OnnxGraph {
  const width = shape.heads * shape.headDim;
  const t = shape.precision === 'bf16' ? onnxType.bfloat16 : onnxType.float16;
  const cast = (from: string, to: string, type: number): OnnxNode => ({
    op: 'Cast',
    inputs: [from],
    outputs: [to],
    attributes: { to: type },
  });
  const nodes: OnnxNode[] = [cast('q', 'qt', t), cast('k', 'kt', t), cast('v', 'vt', t)];
  let last = 'qt';
  for (let i = 0; i < chain; i++) {
    nodes.push({
      op: 'MultiHeadAttention',
      domain: 'com.microsoft',
      inputs: [last, 'kt', 'vt'],
      outputs: [`o${i}`],
      attributes: { num_heads: shape.heads },
    });
    last = `o${i}`;
  }
  nodes.push(cast(last, 'out', onnxType.float));
  const io = (name: string) => ({ name, type: onnxType.float, shape: [1, 'S', width] });
  return {
    inputs: [io('q'), io('k'), io('v')],
    outputs: [io('out')],
    nodes,
    opsets: { '': 18, 'com.microsoft': 1 },
  };
}

export function attentionProbeModel(shape: AttentionShape, chain = 1): Uint8Array {
  return writeOnnxModel(attentionProbeGraph(shape, chain), 'zimage-attention-probe');
}

export interface KernelReport {
  operator: string;
  dataType: string;
  kernel: string;
}

// ORT's logger colours its lines (ESC[0m right after the kernel name on the H200).
const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const stripAnsi = (text: string) => text.replace(ansi, '');

const reportLine = /Operator=(\S+).*?DataType=(\S+).*?SdpaKernel=(\S+)/;

/** ORT's kernel debug lines, in order (other lines are ignored). */
export function parseKernelReports(text: string): KernelReport[] {
  const reports: KernelReport[] = [];
  for (const line of stripAnsi(text).split('\n')) {
    const m = reportLine.exec(line);
    if (m?.[1] && m[2] && m[3]) reports.push({ operator: m[1], dataType: m[2], kernel: m[3] });
  }
  return reports;
}

/** What the child reports per case (kernel-probe-main.ts writes one `ZPROBE {json}` line). */
export interface ProbeCase {
  chain: number;
  tokens: number;
  kernels: string[];
  medianMs?: number;
}

export interface ProbeRequest extends AttentionShape {
  tokens: number[];
  /** Chain lengths; per-op time = difference of medians / difference of lengths. Default [1]. */
  chains?: number[];
  /** Timed runs per case after one warm-up (0: kernel report only). */
  repeats?: number;
  deviceId?: number;
  /** Default cuda; tests run the probe's mechanics on the CPU EP (which reports no kernel). */
  ep?: ExecutionProvider;
}

export interface ProbeResult {
  cases: ProbeCase[];
  /** The child's exit code (non-zero: e.g. a CUBLAS failure broke its CUDA context). */
  exitCode: number | null;
  /** Last 4 KiB of the child's output, for error messages. */
  tail: string;
}

export const probeMarker = 'ZPROBE ';

/** Splits one stream by the child's begin/end markers and attributes kernel lines to cases. */
export function attributeReports(text: string): Map<string, string[]> {
  const byCase = new Map<string, string[]>();
  let current: string | undefined;
  for (const line of stripAnsi(text).split('\n')) {
    const begin = /^ZPROBE begin (\S+)/.exec(line);
    if (begin?.[1]) {
      current = begin[1];
      byCase.set(current, []);
      continue;
    }
    if (line.startsWith('ZPROBE end')) current = undefined;
    const report = parseKernelReports(line)[0];
    if (report && current) byCase.get(current)?.push(report.kernel);
  }
  return byCase;
}

/** Runs the probe child with `env` (the process env plus ORT's debug switch). */
export async function runKernelProbe(
  request: ProbeRequest,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 120_000,
): Promise<ProbeResult> {
  const script = new URL('./kernel-probe-main.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, [script, JSON.stringify(request)], {
    env: { ...env, ORT_ENABLE_ATTENTION_KERNEL_DEBUG_INFO: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exitCode = await new Promise<number | null>((resolve) => {
    child.on('close', (code) => resolve(code));
    child.on('error', () => resolve(null));
  });
  clearTimeout(timer);
  const timed = new Map<string, number>();
  for (const line of out.split('\n'))
    if (line.startsWith(`${probeMarker}end `)) {
      const [, , key = '', ms = ''] = line.split(' ');
      timed.set(key, Number(ms));
    }
  // ORT may print its report to stdout or through its logger (stderr): the child marks both.
  const fromOut = attributeReports(out);
  const fromErr = attributeReports(err);
  const cases = [...fromOut.keys()].map((key) => {
    const [chain = 0, tokens = 0] = key.split('x').map(Number);
    const medianMs = timed.get(key);
    return {
      chain,
      tokens,
      kernels: [...(fromOut.get(key) ?? []), ...(fromErr.get(key) ?? [])],
      ...(medianMs === undefined || Number.isNaN(medianMs) ? {} : { medianMs }),
    };
  });
  return { cases, exitCode, tail: (out + err).slice(-4096) };
}
