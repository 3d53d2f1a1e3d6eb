/**
 * What lets a long trace run in bounded memory: the recorder keeps a window of samples, its
 * p95 windows are kept sorted as entries come and go (SortedValues, the same answer as
 * sorting), and a trace is held as columns (PackedTrace, the same rows back).
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { describe, expect, it } from 'vitest';
import { cards } from '../../src/contract/card.ts';
import type { Controller } from '../../src/sim/controllers/controller.ts';
import { modelOf } from '../../src/sim/model.ts';
import { PackedTrace } from '../../src/sim/packed-trace.ts';
import { keptSeconds } from '../../src/sim/recorder.ts';
import { quantile } from '../../src/sim/results.ts';
import { simulate } from '../../src/sim/run.ts';
import { SortedValues } from '../../src/sim/sorted-values.ts';
import type { TraceRow } from '../../src/sim/trace-csv.ts';
import { specOf } from '../support/policy-script.ts';

describe('SortedValues', () => {
  it.each([
    // Nearest rank ceil(0.95 x 20) = 19: the 19th of 1..20.
    { name: '1..20', add: Array.from({ length: 20 }, (_, i) => i + 1), remove: [], want: 19 },
    // 18 left: ceil(17.1) = 18, the 18th of 1..18.
    {
      name: '1..20 less 19 and 20',
      add: Array.from({ length: 20 }, (_, i) => i + 1),
      remove: [20, 19],
      want: 18,
    },
    // [1, 5, 5, 5]: rank ceil(3.8) = 4 -> 5; less two 5s, [1, 5]: rank ceil(1.9) = 2 -> 5.
    { name: 'repeated values', add: [5, 1, 5, 5], remove: [5, 5], want: 5 },
    { name: 'one value left', add: [5, 1], remove: [5], want: 1 },
    { name: 'none', add: [3], remove: [3], want: undefined },
  ])('p95 of $name', ({ add, remove, want }) => {
    const s = new SortedValues();
    for (const v of add) s.add(v);
    for (const v of remove) s.delete(v);
    expect(s.quantile(0.95)).toBe(want);
  });

  it('gives what sorting the window gives, through 5000 adds and removals', () => {
    const rng = xoroshiro128plus(7);
    const s = new SortedValues();
    const window: number[] = [];
    const got: (number | undefined)[] = [];
    const want: (number | undefined)[] = [];
    for (let i = 0; i < 5000; i++) {
      // Values from 20 levels, as engine seconds take; the oldest leaves a third of the time.
      const v = uniformInt(rng, 1, 20) / 4;
      s.add(v);
      window.push(v);
      if (uniformInt(rng, 0, 2) === 0) s.delete(window.shift()!);
      got.push(s.quantile(0.95));
      want.push(quantile(window, 0.95));
    }
    expect(got).toEqual(want);
  });

  it('refuses to remove what it does not hold', () => {
    const s = new SortedValues();
    s.add(1);
    expect(() => s.delete(2)).toThrow(/2 was never added/);
  });
});

describe('PackedTrace', () => {
  const rows: TraceRow[] = [
    { offsetSeconds: 0, size: { width: 1024, height: 1024 }, n: 1 },
    { offsetSeconds: 0.5, size: { width: 512, height: 768 }, steps: 4, n: 8 },
    { offsetSeconds: 2 },
    { offsetSeconds: 2.25, size: { width: 1024, height: 1024 } },
  ];

  it('gives the rows back, by index, from the end, and in order', () => {
    const packed = PackedTrace.from(rows);
    expect([...packed]).toEqual(rows);
    expect([packed.length, packed.at(1), packed.at(-1), packed.at(4)]).toEqual([
      4,
      rows[1],
      rows[3],
      undefined,
    ]);
  });

  it('grows past its first 1024 rows', () => {
    const many = Array.from({ length: 3000 }, (_, i): TraceRow => ({
      offsetSeconds: i,
      n: 1 + (i % 16),
    }));
    expect([...PackedTrace.from(many)]).toEqual(many);
  });
});

describe('the recorder keeps a window of samples', () => {
  const h100 = cards['h100-80gb'];
  const model = {
    ...modelOf(specOf({ gpu: { memoryGiB: 80 } }), { card: h100 }),
    startupSeconds: 100,
  };
  const idle: Controller = { name: 'idle', periodSeconds: 1, log: [], tick: () => ({}) };
  // One request at 1880 s: the run lasts until 1880 + the 120 s deadline = 2000 s.
  const trace: TraceRow[] = [{ offsetSeconds: 1880 }];
  const run = (keepSamples: boolean) =>
    simulate(trace, idle, {
      model,
      quality: { steps: 9, offload: 'none', attention: 'flash' },
      replicas: 1,
      seed: 1,
      keepSamples,
    });

  it.each([
    // At 1201 s, 1201 samples: cut to the last 600 (602-1201 s); 601 later, at 1802 s, again
    // (1203-1802 s); by 2000 s, 1203-2000 s: 798.
    { keep: false, want: { length: 798, first: 1203, last: 2000 } },
    { keep: true, want: { length: 2000, first: 1, last: 2000 } },
  ])('keepSamples $keep: $want.length samples', ({ keep, want }) => {
    const samples = run(keep).samples;
    expect({ length: samples.length, first: samples[0]!.t, last: samples.at(-1)!.t }).toEqual(want);
  });

  it(`refuses a window longer than the ${keptSeconds} s it keeps`, () => {
    const looks: Controller = {
      ...idle,
      tick: (_now, source) => {
        source.window(keptSeconds + 1);
        return {};
      },
    };
    expect(() =>
      simulate(trace, looks, {
        model,
        quality: { steps: 9, offload: 'none', attention: 'flash' },
        replicas: 1,
        seed: 1,
      }),
    ).toThrow(/a 601 s window: the recorder keeps 600 s of samples/);
  });
});
