import { describe, expect, it } from 'vitest';
import {
  cardForProduct,
  cards,
  contextBytes,
  kernelFor,
  memoryInUse,
  memoryPlan,
  stageSeconds,
  tokensFor,
  weightBytes,
  type CardId,
  type Workload,
} from '../../src/contract/card.ts';

const GB = 1e9;
const turbo = (extra: Partial<Workload> = {}): Workload => ({
  width: 1024,
  height: 1024,
  steps: 9,
  precision: 'bf16',
  offload: 'none',
  attention: 'flash',
  ...extra,
});

describe('card model: what fits', () => {
  // The seed's 16 GB rules ("keep 1024^2 inside 16 GB, above that offload") and its table.
  const rows: {
    name: string;
    card: CardId;
    w: Workload;
    fits: boolean;
    peakGB: [number, number];
  }[] = [
    {
      name: 'no offload on the 16 GB card: 20.4 GB of weights alone',
      card: 'rtx4090-16gb',
      w: turbo({ width: 512, height: 512 }),
      fits: false,
      peakGB: [20.5, 23],
    },
    {
      name: 'flash, model offload, 1024^2 on 16 GB: the seed 13-14 GB',
      card: 'rtx4090-16gb',
      w: turbo({ offload: 'model' }),
      fits: true,
      peakGB: [13, 14],
    },
    {
      name: 'math, model offload, 1024^2 on 16 GB: the seed 18+ GB, OOM',
      card: 'rtx4090-16gb',
      w: turbo({ offload: 'model', attention: 'math' }),
      fits: false,
      peakGB: [18, 20],
    },
    {
      name: 'flash, cpu offload, 1024^2 on 16 GB: transformer only',
      card: 'rtx4090-16gb',
      w: turbo({ offload: 'cpu' }),
      fits: true,
      peakGB: [13, 14],
    },
    {
      name: 'flash, cpu offload, 1536^2 on 16 GB: linear attention still fits',
      card: 'rtx4090-16gb',
      w: turbo({ offload: 'cpu', width: 1536, height: 1536 }),
      fits: true,
      peakGB: [13.5, 15],
    },
    {
      name: 'math, cpu offload, 2048^2 on 16 GB: quadratic scores do not',
      card: 'rtx4090-16gb',
      w: turbo({ offload: 'cpu', width: 2048, height: 2048, attention: 'math' }),
      fits: false,
      peakGB: [85, 95],
    },
    {
      name: 'no offload, 1024^2 on the H100',
      card: 'h100-80gb',
      w: turbo(),
      fits: true,
      peakGB: [22, 24],
    },
    {
      name: 'math at 2048^2 on the H200: ~87 GB of scores fit 141 GB',
      card: 'h200-141gb',
      w: turbo({ width: 2048, height: 2048, attention: 'math' }),
      fits: true,
      peakGB: [95, 105],
    },
  ];
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_n, r) => {
    const plan = memoryPlan(cards[r.card], r.w);
    expect(plan.fits).toBe(r.fits);
    expect(plan.peakBytes / GB).toBeGreaterThanOrEqual(r.peakGB[0]);
    expect(plan.peakBytes / GB).toBeLessThanOrEqual(r.peakGB[1]);
  });

  it('keeps weights the issue names: transformer 12.3 GB, text encoder 8 GB in bf16', () => {
    expect(weightBytes('transformer', 'bf16') / GB).toBeCloseTo(12.3, 1);
    expect(weightBytes('text_encoder', 'bf16') / GB).toBeCloseTo(8.04, 1);
    expect(tokensFor({ width: 1024, height: 1024 })).toBe(4608);
  });

  it.each([
    ['none keeps every weight resident', 'none', 0.5 + 20.44],
    ['model keeps only the context between requests', 'model', 0.5],
    ['cpu keeps the transformer', 'cpu', 0.5 + 12.3],
  ] as const)('idle VRAM: %s', (_n, offload, gb) => {
    expect(memoryPlan(cards['h100-80gb'], turbo({ offload })).idleBytes / GB).toBeCloseTo(gb, 1);
  });
});

describe('card model: seconds per stage', () => {
  const rows: { name: string; card: CardId; w: Workload; total: [number, number] }[] = [
    {
      name: '4090, 1024^2, flash: the seed 8-10 s',
      card: 'rtx4090-16gb',
      w: turbo(),
      total: [8, 10],
    },
    {
      name: '4090, model offload: the seed 12-15 s',
      card: 'rtx4090-16gb',
      w: turbo({ offload: 'model' }),
      total: [12, 15],
    },
    {
      name: '4090, cpu offload: the seed 12-15 s',
      card: 'rtx4090-16gb',
      w: turbo({ offload: 'cpu' }),
      total: [12, 15],
    },
    {
      name: 'H100, 8 forwards: sub-second (the official H800 claim)',
      card: 'h100-80gb',
      w: turbo({ attention: 'cudnn' }),
      total: [0.5, 1],
    },
    {
      name: 'H200, 4 steps at 512^2: a fraction of that',
      card: 'h200-141gb',
      w: turbo({ steps: 5, width: 512, height: 512 }),
      total: [0.05, 0.3],
    },
  ];
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_n, r) => {
    const s = stageSeconds(cards[r.card], r.w);
    expect(s.total).toBeGreaterThanOrEqual(r.total[0]);
    expect(s.total).toBeLessThanOrEqual(r.total[1]);
    expect(s.total).toBeCloseTo(
      s.textEncoder + s.transformerLoad + s.forwards * s.transformerStep + s.vae,
      9,
    );
  });

  it('counts forwards by schedule: 9 terminal-zero steps are 8 forwards', () => {
    const card = cards['h200-141gb'];
    expect(stageSeconds(card, turbo()).forwards).toBe(8);
    expect(stageSeconds(card, turbo({ schedule: 'linear-to-1/n' })).forwards).toBe(9);
  });

  it('runs bf16 flash on the memory-efficient kernel, slower than cuDNN (gpu/README)', () => {
    expect(kernelFor('flash', 'bf16')).toBe('efficient');
    expect(kernelFor('flash', 'fp16')).toBe('flash');
    const card = cards['h200-141gb'];
    const flash = stageSeconds(card, turbo()).transformerStep;
    const cudnn = stageSeconds(card, turbo({ attention: 'cudnn' })).transformerStep;
    expect(flash).toBeGreaterThan(cudnn);
  });

  it('scales attention time quadratically and the rest linearly in tokens', () => {
    const card = cards['h200-141gb'];
    const at = (px: number) => stageSeconds(card, turbo({ width: px, height: px })).transformerStep;
    // 2048^2 has 3.7x the tokens of 1024^2 (16896 vs 4608): between linear and quadratic.
    const ratio = at(2048) / at(1024);
    expect(ratio).toBeGreaterThan(16896 / 4608);
    expect(ratio).toBeLessThan((16896 / 4608) ** 2);
  });
});

describe('card model: memory in use (the dcgm-exporter stand-in)', () => {
  const w = { precision: 'bf16', offload: 'none', attention: 'flash' } as const;
  const all = ['text_encoder', 'transformer', 'vae_decoder'] as const;
  it.each([
    ['idle, no offload: context + 20.44 GB', w, all, undefined, 20.94],
    ['generating 1024^2: + the largest stage activations (VAE, 2 GB)', w, all, 1024, 22.94],
    ['cpu offload: CPU sessions take no VRAM', { ...w, offload: 'cpu' }, all, undefined, 12.8],
    ['model offload between requests: nothing resident', { ...w, offload: 'model' }, [], 1024, 0.5],
    [
      'model offload in the transformer stage: 12.3 GB + 0.7 GB',
      { ...w, offload: 'model' },
      ['transformer'],
      1024,
      13.49,
    ],
  ] as const)('%s', (_n, config, resident, px, gb) => {
    const generating = px === undefined ? undefined : { width: px, height: px };
    expect(memoryInUse(config, resident, generating) / GB).toBeCloseTo(gb, 1);
  });

  it('maps GPU Feature Discovery products to cards, and nothing else', () => {
    expect(cardForProduct('NVIDIA-H100-80GB-HBM3')?.id).toBe('h100-80gb');
    expect(cardForProduct('NVIDIA-GeForce-RTX-4090')?.memoryBytes).toBe(16_384 * 2 ** 20);
    expect(cardForProduct('NVIDIA-A10')).toBeUndefined();
    expect(contextBytes).toBeGreaterThan(0);
  });
});
