import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { progressLine, progressPrinter, type LoadProgress } from '../../dev/load/progress.ts';

const at = (elapsedS: number): LoadProgress => ({
  elapsedS,
  scheduleSeconds: 30,
  sent: 12,
  total: 60,
  inFlight: 5,
  statuses: { '200': 4, '429': 3 },
  p95S: 2.5,
});

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  const out = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    }),
    { isTTY },
  );
  return { out, chunks };
}

describe('the progress line', () => {
  it('says where the run is', () => {
    expect(progressLine(at(12))).toBe(
      'load 12.0/30.0 s  sent 12/60  in flight 5  answered 200: 4, 429: 3  p95 2.50 s',
    );
    expect(progressLine({ ...at(0), statuses: {}, p95S: null })).toMatch(/answered - {2}p95 -$/);
  });

  it('is rewritten in place on a terminal, and ends with a newline', () => {
    const { out, chunks } = sink(true);
    const print = progressPrinter(out);
    print(at(0.25), false);
    print(at(0.5), false);
    print(at(0.75), true);
    expect(chunks).toHaveLength(3);
    expect(chunks.every((c) => c.startsWith('\r\x1b[2K'))).toBe(true);
    expect(chunks.map((c) => c.endsWith('\n'))).toEqual([false, false, true]);
  });

  it('is a line every 5 s in a log, plus the final one', () => {
    const { out, chunks } = sink(false);
    const print = progressPrinter(out, 5_000);
    for (let t = 0; t <= 12; t += 0.25) print(at(t), false);
    print(at(12.1), true);
    expect(chunks.map((c) => c.split(' ')[1])).toEqual([
      '0.0/30.0',
      '5.0/30.0',
      '10.0/30.0',
      '12.1/30.0',
    ]);
    expect(chunks.every((c) => c.endsWith('\n') && !c.includes('\r'))).toBe(true);
  });
});
