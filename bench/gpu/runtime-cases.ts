/**
 * The case matrix of the runtime's two GPU runs (runtime-gpu.ts in-process, runtime-http-gpu.ts
 * over HTTP): which model, EP, offload mode, attention variant and size each case runs. Each run
 * adds how many timed generations (repeats, requests).
 */
import {
  offloadModes,
  type AttentionBackend,
  type ExecutionProvider,
  type OffloadMode,
} from '../../src/contract/runtime.ts';

export interface GpuCase {
  /** tiny: the committed 2-layer model (--tiny); full-width: an export at full width (--full). */
  model: 'tiny' | 'full-width';
  dir: string;
  ep: ExecutionProvider;
  offload: OffloadMode;
  attention: AttentionBackend;
  /** Width and height of the image, in pixels. */
  size: number;
}

/** `base` with every combination of the `axes`' values, the first axis varying slowest. */
export function matrix<const B extends object, const A extends Record<string, readonly unknown[]>>(
  base: B,
  axes: A,
): (B & { -readonly [K in keyof A]: A[K][number] })[] {
  let rows: object[] = [{ ...base }];
  for (const [key, values] of Object.entries(axes))
    rows = rows.flatMap((row) => values.map((value) => ({ ...row, [key]: value })));
  return rows as (B & { -readonly [K in keyof A]: A[K][number] })[];
}

/**
 * The full-width export, the same in both runs: each offload mode under flash attention, and
 * the unfused path (math) without offload, at 512x512.
 */
export function fullWidthCases(dir: string): GpuCase[] {
  const base = { model: 'full-width', dir, ep: 'webgpu', size: 512 } as const;
  return [
    ...matrix({ ...base, attention: 'flash' }, { offload: offloadModes }),
    { ...base, offload: 'none', attention: 'math' },
  ];
}
