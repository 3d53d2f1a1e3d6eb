import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PackedTrace } from '../../src/sim/packed-trace.ts';
import {
  formatTrace,
  parseTrace,
  readTraceFile,
  TraceError,
  writeTraceFile,
  type TraceRow,
} from '../../src/sim/trace-csv.ts';

const px = (side: number) => ({ width: side, height: side });

/** Parse `text`, returning the message lines of the TraceError it must throw. */
function refusal(text: string, source = 't.csv'): string[] {
  try {
    parseTrace(text, source);
  } catch (err) {
    expect(err).toBeInstanceOf(TraceError);
    return (err as Error).message.split('\n');
  }
  throw new Error('parseTrace accepted a bad trace');
}

describe('trace CSV (offset_seconds,size,steps,n): one parser for the load generator and the simulator', () => {
  it.each<[string, string, TraceRow[]]>([
    [
      'header, comments, blank lines and empty fields',
      '# a morning of traffic\noffset_seconds,size,steps,n\n\n0,1024x1024,9,1\n0.5,512x512,,2\n  2 , , 4 ,\n',
      [
        { offsetSeconds: 0, size: px(1024), steps: 9, n: 1 },
        { offsetSeconds: 0.5, size: px(512), n: 2 },
        { offsetSeconds: 2, steps: 4 },
      ],
    ],
    [
      'no header, offsets only, CRLF',
      '0\r\n0\r\n1.25\r\n',
      [{ offsetSeconds: 0 }, { offsetSeconds: 0 }, { offsetSeconds: 1.25 }],
    ],
    [
      'a header with spaces around the names',
      'offset_seconds , size , steps , n\n0,768x1024,,1\n',
      [{ offsetSeconds: 0, size: { width: 768, height: 1024 }, n: 1 }],
    ],
  ])('reads %s', (_name, text, rows) => {
    expect(parseTrace(text)).toEqual(rows);
  });

  it('writes what it reads, with the header', () => {
    const text = 'offset_seconds,size,steps,n\n0,1024x1024,,1\n1.25,512x512,6,3\n2,,,\n';
    expect(formatTrace(parseTrace(text))).toBe(text);
  });

  it.each([
    [
      'too many columns',
      '0,512x512,9,1,extra',
      'line 1: expected up to 4 columns (offset_seconds,size,steps,n), got 5',
    ],
    ['offset not a number', 'soon,512x512,9,1', 'line 1: offset_seconds "soon": must be a number'],
    ['negative offset', '-1,512x512,9,1', 'line 1: offset_seconds "-1": must be 0 or more seconds'],
    ['bad size', '0,1024,,1', 'line 1: size "1024": must be WIDTHxHEIGHT, e.g. 512x512'],
    [
      'size with leading zeros (the runtime would refuse it)',
      '0,0512x0512,,1',
      'line 1: size "0512x0512": must be WIDTHxHEIGHT, e.g. 512x512',
    ],
    [
      'steps out of range',
      '0,512x512,80,1',
      'line 1: steps "80": must be a whole number from 1 to 50',
    ],
    [
      'steps not whole',
      '0,512x512,7.5,1',
      'line 1: steps "7.5": must be a whole number from 1 to 50',
    ],
    ['steps not a number', '0,512x512,nine,1', 'line 1: steps "nine": must be a number'],
    [
      'n zero',
      'offset_seconds,size,steps,n\n0,512x512,,0',
      'line 2: n "0": must be a whole number from 1 to 16',
    ],
    ['n past 16', '0,512x512,9,17', 'line 1: n "17": must be a whole number from 1 to 16'],
    [
      'rows out of time order',
      '6\n5.5',
      "line 2: offset_seconds 5.5 is before line 1's 6 (rows must be in time order)",
    ],
    [
      'the old header',
      'offset,size,steps,n\n0',
      'line 1: header "offset,size,steps,n": must be offset_seconds,size,steps,n (or none)',
    ],
    [
      'a header of other columns',
      'when,size\n0,512x512',
      'line 1: header "when,size": must be offset_seconds,size,steps,n (or none)',
    ],
  ])('refuses %s, naming the line and the column', (_name, text, problem) => {
    expect(refusal(text)).toEqual(['t.csv: 1 bad row', `  ${problem}`]);
  });

  it('names every bad row at once, and every bad column of a row, in column order', () => {
    const text = ['offset_seconds,size,steps,n', '0,512x512,9,1', 'soon,512,0,1', '1,512x512,9,17'];
    expect(refusal(text.join('\n'), 'morning.csv')).toEqual([
      'morning.csv: 2 bad rows',
      '  line 3: offset_seconds "soon": must be a number',
      '  line 3: size "512": must be WIDTHxHEIGHT, e.g. 512x512',
      '  line 3: steps "0": must be a whole number from 1 to 50',
      '  line 4: n "17": must be a whole number from 1 to 16',
    ]);
  });

  it('refuses a trace without rows', () => {
    expect(refusal('offset_seconds,size,steps,n\n# nothing yet\n', 'empty.csv')).toEqual([
      'empty.csv: no rows (offset_seconds,size,steps,n)',
    ]);
  });
});

describe('trace files, read and written a chunk at a time', () => {
  const file = (name: string) => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'trace-')), name);
  // 120000 rows of ~20 bytes: 2.4 MB, across the reader's 1 MiB chunks.
  const rows = Array.from({ length: 120_000 }, (_, i): TraceRow => ({
    offsetSeconds: i / 4,
    size: { width: 512 + 256 * (i % 3), height: 1024 },
    n: 1 + (i % 4),
  }));

  it('reads what it writes, as parseTrace reads the text, into any sink', () => {
    const f = file('big.csv');
    writeTraceFile(f, rows);
    const text = fs.readFileSync(f, 'utf8');
    expect(text).toBe(formatTrace(rows));
    expect(readTraceFile(f, [])).toEqual(parseTrace(text));
    expect([...readTraceFile(f, new PackedTrace())]).toEqual(rows);
  });

  it('counts lines across chunks and CRLF: a bad row deep in the file is named by its line', () => {
    const f = file('bad.csv');
    const lines = formatTrace(rows).trimEnd().split('\n');
    lines[100_000] = '25000,huge,,1';
    fs.writeFileSync(f, `${lines.join('\r\n')}\r\n`);
    // The header is line 1, so lines[100000] is line 100001.
    expect(() => readTraceFile(f, [], 'bad.csv')).toThrow(
      'bad.csv: 1 bad row\n  line 100001: size "huge": must be WIDTHxHEIGHT, e.g. 512x512',
    );
  });
});
