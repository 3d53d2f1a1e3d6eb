/**
 * GPU memory in use, sampled from nvidia-smi every 50 ms (MiB, the whole card): `reset()` before
 * a case, `peak()` after it; the difference to the reading before is the case's peak. Without
 * nvidia-smi every reading stays 0.
 */
import { spawn } from 'node:child_process';

export interface GpuMemorySampler {
  reset(): void;
  last(): number;
  peak(): number;
  stop(): void;
}

export function gpuMemorySampler(): GpuMemorySampler {
  let peak = 0;
  let last = 0;
  const proc = spawn('nvidia-smi', [
    '--query-gpu=memory.used',
    '--format=csv,noheader,nounits',
    '-lms',
    '50',
  ]);
  proc.stdout.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      const v = Number.parseInt(line.trim(), 10);
      if (Number.isFinite(v)) [last, peak] = [v, Math.max(peak, v)];
    }
  });
  proc.on('error', () => undefined);
  return {
    reset: () => (peak = last),
    last: () => last,
    peak: () => peak,
    stop: () => proc.kill(),
  };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
}
