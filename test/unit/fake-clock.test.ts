/** The fake clock that every timing unit test stands on, and the contract's helpers over it. */
import { describe, expect, it } from 'vitest';
import { every } from '../../src/contract/clock.ts';
import { FakeClock } from '../support/fake-clock.ts';

interface Row {
  name: string;
  /** Sets timers; `mark(label)` returns a callback that logs "label@now()". */
  plan: (clock: FakeClock, mark: (label: string) => () => void) => void;
  advances: number[];
  fired: string[];
  now: number;
  pending?: number[];
}

const rows: Row[] = [
  {
    name: 'a timer fires at its due time, with now() at that time',
    plan: (c, mark) => c.setTimeout(mark('a'), 1_000),
    advances: [1_500],
    fired: ['a@1000'],
    now: 1_500,
  },
  {
    name: 'timers fire in due order, not in the order they were set',
    plan: (c, mark) => {
      c.setTimeout(mark('c'), 300);
      c.setTimeout(mark('a'), 100);
      c.setTimeout(mark('b'), 200);
    },
    advances: [300],
    fired: ['a@100', 'b@200', 'c@300'],
    now: 300,
  },
  {
    name: 'timers due together fire in the order they were set',
    plan: (c, mark) => {
      c.setTimeout(mark('y'), 100);
      c.setTimeout(mark('x'), 100);
    },
    advances: [100],
    fired: ['y@100', 'x@100'],
    now: 100,
  },
  {
    name: 'a timer a callback sets fires in the same advance when it falls due in it',
    plan: (c, mark) =>
      c.setTimeout(() => {
        mark('a')();
        c.setTimeout(mark('b'), 50);
      }, 100),
    advances: [200],
    fired: ['a@100', 'b@150'],
    now: 200,
  },
  {
    name: 'a timer a callback sets past the end waits for the next advance',
    plan: (c, mark) =>
      c.setTimeout(() => {
        mark('a')();
        c.setTimeout(mark('b'), 200);
      }, 100),
    advances: [200],
    fired: ['a@100'],
    now: 200,
    pending: [100],
  },
  {
    name: 'a timer not yet due stays pending until an advance reaches it',
    plan: (c, mark) => c.setTimeout(mark('a'), 1_000),
    advances: [999, 0, 1],
    fired: ['a@1000'],
    now: 1_000,
  },
  {
    name: 'a cleared timer never fires',
    plan: (c, mark) => {
      c.clearTimeout(c.setTimeout(mark('a'), 100));
      c.setTimeout(mark('b'), 200);
    },
    advances: [1_000],
    fired: ['b@200'],
    now: 1_000,
  },
  {
    name: 'a callback can clear a later timer',
    plan: (c, mark) => {
      c.setTimeout(() => {
        mark('a')();
        c.clearTimeout(later);
      }, 100);
      const later = c.setTimeout(mark('b'), 200);
    },
    advances: [1_000],
    fired: ['a@100'],
    now: 1_000,
  },
  {
    name: 'zero and negative delays fire on advance(0)',
    plan: (c, mark) => {
      c.setTimeout(mark('zero'), 0);
      c.setTimeout(mark('negative'), -5);
    },
    advances: [0],
    fired: ['zero@0', 'negative@0'],
    now: 0,
  },
  {
    name: 'sleep resolves at its due time',
    plan: (c, mark) => void c.sleep(250).then(mark('slept')),
    advances: [1_000],
    fired: ['slept@250'],
    now: 1_000,
  },
  {
    name: 'every() runs at a fixed rate until stopped',
    plan: (c, mark) => {
      const tick = mark('tick');
      const repeat = every(c, 100, tick);
      c.setTimeout(() => repeat.stop(), 350);
    },
    advances: [1_000],
    fired: ['tick@100', 'tick@200', 'tick@300'],
    now: 1_000,
    pending: [],
  },
  {
    name: 'time moves by exactly the advance when nothing is due',
    plan: () => undefined,
    advances: [1_234, 766],
    fired: [],
    now: 2_000,
  },
];

describe('FakeClock', () => {
  it.each(rows)('$name', async (row) => {
    const clock = new FakeClock();
    const fired: string[] = [];
    row.plan(clock, (label) => () => fired.push(`${label}@${clock.now()}`));
    for (const ms of row.advances) await clock.advance(ms);
    expect(fired).toEqual(row.fired);
    expect(clock.now()).toBe(row.now);
    if (row.pending) expect(clock.pending()).toEqual(row.pending);
  });

  it('starts at the given time and refuses to move backwards', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    expect(clock.now()).toBe(1_700_000_000_000);
    await expect(clock.advance(-1)).rejects.toThrow('time only moves forward');
  });
});
