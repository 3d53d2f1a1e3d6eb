import { describe, expect, it } from 'vitest';
import type { CardId } from '../../src/contract/card.ts';
import type { ExecutionProvider } from '../../src/contract/runtime.ts';
import { loadConfig } from '../../src/runtime/config.ts';
import { fitProblem, gpuBudget, gpuInfo, type FitSettings } from '../../src/runtime/fit.ts';
import { post, testAppPerTest, type ErrorBody } from '../support/runtime-app.ts';

const GiB = 2 ** 30;
const noFile = (path: string): string => {
  throw new Error(`ENOENT: ${path}`);
};

describe('the GPU variables', () => {
  it.each([
    ['a card', { ZIMAGE_GPU_CARD: 'h100-80gb' }, { gpuCard: 'h100-80gb', pacing: false }],
    ['memory in GiB', { ZIMAGE_GPU_MEMORY_GIB: '79.6' }, { gpuMemoryGiB: 79.6 }],
    [
      'pacing on a card',
      { ZIMAGE_GPU_CARD: 'rtx4090-24gb', ZIMAGE_PACING: 'true' },
      { gpuCard: 'rtx4090-24gb', pacing: true },
    ],
    ['pacing off', { ZIMAGE_PACING: 'false' }, { pacing: false }],
  ])('%s', (_name, env, expected) => {
    expect(loadConfig(env, noFile)).toMatchObject(expected);
  });

  it.each([
    ['unknown card', { ZIMAGE_GPU_CARD: 'a100' }, /ZIMAGE_GPU_CARD: must be one of rtx4090-16gb, /],
    ['no memory', { ZIMAGE_GPU_MEMORY_GIB: '0' }, /ZIMAGE_GPU_MEMORY_GIB: /],
    ['memory not a number', { ZIMAGE_GPU_MEMORY_GIB: '16GB' }, /ZIMAGE_GPU_MEMORY_GIB: /],
    ['pacing not a boolean', { ZIMAGE_PACING: 'maybe' }, /ZIMAGE_PACING: /],
    [
      'pacing without a card',
      { ZIMAGE_PACING: 'true' },
      /ZIMAGE_PACING: needs ZIMAGE_GPU_CARD, the card whose time is modelled/,
    ],
  ])('refuses %s, naming the variable', (_name, env, message) => {
    expect(() => loadConfig(env, noFile)).toThrow(message);
  });
});

describe('the VRAM budget', () => {
  const rows: {
    name: string;
    ep: ExecutionProvider;
    card?: CardId;
    gib?: number;
    budgetGiB: number | undefined;
  }[] = [
    { name: 'CPU EP without a card: no check', ep: 'cpu', gib: 80, budgetGiB: undefined },
    {
      name: 'CPU EP with a card: the card (local fleet)',
      ep: 'cpu',
      card: 'rtx4090-16gb',
      budgetGiB: 16,
    },
    { name: 'GPU EP, memory only (the operator)', ep: 'cuda', gib: 80, budgetGiB: 80 },
    { name: 'GPU EP, nothing known: no check', ep: 'cuda', budgetGiB: undefined },
    {
      name: 'a default 80 GiB never raises a 16 GB card',
      ep: 'cuda',
      card: 'rtx4090-16gb',
      gib: 80,
      budgetGiB: 16,
    },
    {
      name: 'a 40 GiB MIG slice of an H100',
      ep: 'cuda',
      card: 'h100-80gb',
      gib: 40,
      budgetGiB: 40,
    },
  ];
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, r) => {
    const config = {
      executionProvider: r.ep,
      gpuCard: r.card,
      gpuMemoryGiB: r.gib,
      attention: 'flash',
      precision: 'bf16',
    } as const;
    const budget = gpuBudget(config);
    expect(budget && budget.memoryBytes / GiB).toBe(r.budgetGiB);
    expect(gpuInfo({ ...config, pacing: false }).memoryGiB).toBe(r.budgetGiB ?? null);
  });
});

describe('what fits (card model) and what the refusal says', () => {
  const flash = (offload: FitSettings['offload']): FitSettings => ({
    attention: 'flash',
    precision: 'bf16',
    offload,
  });
  const budget = (card: CardId, gib?: number) =>
    gpuBudget({
      executionProvider: 'cuda',
      gpuCard: card,
      gpuMemoryGiB: gib,
      attention: 'flash',
      precision: 'bf16',
    })!;
  const rows: [string, ReturnType<typeof budget>, number, FitSettings, RegExp | undefined][] = [
    [
      '16 GB, no offload: 20.4 GB of weights alone; model offload is the fix',
      budget('rtx4090-16gb'),
      512,
      flash('none'),
      /^512x512 needs ~20\.8 GiB with attention=flash offload=none on rtx4090-16gb \(16 GiB\); lower the size or raise offload to model \(~12\.6 GiB\)$/,
    ],
    [
      '16 GB, model offload: 1024^2 fits (13.9 GiB, as measured)',
      budget('rtx4090-16gb'),
      1024,
      flash('model'),
      undefined,
    ],
    [
      '16 GB, math: quadratic scores, no offload helps; the largest square is named',
      budget('rtx4090-16gb'),
      1024,
      { ...flash('model'), attention: 'math' },
      /^1024x1024 needs ~19\.2 GiB with attention=math offload=model .*; lower the size \(the largest square that fits is 832x832\)$/,
    ],
    ['24 GB, no offload: 768^2 fits', budget('rtx4090-24gb'), 768, flash('none'), undefined],
    [
      '24 GB, no offload: 1024^2 does not (the VAE beside 20.4 GB of weights), model offload does',
      budget('rtx4090-24gb'),
      1024,
      flash('none'),
      /^1024x1024 needs ~24\.6 GiB .* on rtx4090-24gb \(24 GiB\); lower the size or raise offload to model \(~13\.9 GiB\)$/,
    ],
    [
      '24 GB, no offload: 2048^2 does not (its VAE decode), model offload does',
      budget('rtx4090-24gb'),
      2048,
      flash('none'),
      /^2048x2048 needs ~40 GiB .* on rtx4090-24gb \(24 GiB\); lower the size or raise offload to model \(~21 GiB\)$/,
    ],
    [
      'a 10 GiB slice: nothing fits at all',
      budget('h100-80gb', 10),
      512,
      flash('none'),
      /on h100-80gb \(10 GiB\); nothing fits: even 64x64 with offload=cpu needs ~12\.2 GiB$/,
    ],
  ];
  it.each(rows)('%s', (_name, b, px, settings, message) => {
    const problem = fitProblem(b, { width: px, height: px }, 9, settings);
    if (message) expect(problem).toMatch(message);
    else expect(problem).toBeUndefined();
  });

  it('names a budget without a card by its memory', () => {
    const b = gpuBudget({
      executionProvider: 'cuda',
      gpuCard: undefined,
      gpuMemoryGiB: 80,
      attention: 'math',
      precision: 'bf16',
    })!;
    const problem = fitProblem(b, { width: 2048, height: 2048 }, 9, {
      attention: 'math',
      precision: 'bf16',
      offload: 'none',
    });
    expect(problem).toMatch(
      / on a GPU with 80 GiB; lower the size \(the largest square that fits is 1904x1904\)$/,
    );
  });
});

describe('the generate route refuses what does not fit', () => {
  const setup = testAppPerTest();
  const env = { ZIMAGE_EXECUTION_PROVIDER: 'cpu', ZIMAGE_GPU_CARD: 'rtx4090-16gb' };

  it('answers 422 does_not_fit before queueing, and serves the size once offload is raised', async () => {
    const t = await setup({ env });
    const refused = await post(t, { prompt: 'a fox', size: '512x512' });
    expect(refused.statusCode).toBe(422);
    expect(refused.json<ErrorBody>().error).toEqual({
      message:
        '512x512 needs ~20.8 GiB with attention=cudnn offload=none on rtx4090-16gb (16 GiB); lower the size or raise offload to model (~12.6 GiB)',
      type: 'invalid_request_error',
      param: 'size',
      code: 'does_not_fit',
    });
    expect(t.engine.jobs).toHaveLength(0);

    await t.engine.setOffload('model');
    const served = await post(t, { prompt: 'a fox', size: '512x512' });
    expect(served.statusCode).toBe(200);
    expect(t.engine.jobs).toHaveLength(1);
    const codes = (await t.metrics.requests.get()).values.map((v) => [v.labels.code, v.value]);
    expect(Object.fromEntries(codes)).toEqual({ '200': 1, '422': 1 });
  });

  it('says in /readyz which card it checks against, and that nothing is checked without one', async () => {
    const withCard = await setup({ env });
    expect((await withCard.app.inject({ url: '/readyz' })).json()).toMatchObject({
      gpu: { card: 'rtx4090-16gb', memoryGiB: 16, pacing: false },
    });
    await withCard.app.close();
    const cpuOnly = await setup({ env: { ZIMAGE_EXECUTION_PROVIDER: 'cpu' } });
    expect((await cpuOnly.app.inject({ url: '/readyz' })).json()).toMatchObject({
      gpu: { card: null, memoryGiB: null, pacing: false },
    });
    expect((await post(cpuOnly, { prompt: 'a fox', size: '1024x1024' })).statusCode).toBe(200);
  });
});
