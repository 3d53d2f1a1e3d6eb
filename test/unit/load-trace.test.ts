import { describe, expect, it } from 'vitest';
import { parseTrace, TraceError } from '../../dev/load/trace.ts';

describe('CSV traces', () => {
  it.each([
    [
      'header, comments, blank lines and empty fields',
      '# a morning of traffic\noffset_seconds,size,steps,n\n\n0,1024x1024,9,1\n0.5,512x512,,2\n  2 , , 4 ,\n',
      [
        { offsetSeconds: 0, size: '1024x1024', steps: 9, n: 1 },
        { offsetSeconds: 0.5, size: '512x512', n: 2 },
        { offsetSeconds: 2, steps: 4 },
      ],
    ],
    [
      'no header, offsets only, CRLF',
      '0\r\n0\r\n1.25\r\n',
      [{ offsetSeconds: 0 }, { offsetSeconds: 0 }, { offsetSeconds: 1.25 }],
    ],
  ])('%s', (_name, text, rows) => {
    expect(parseTrace(text)).toEqual(rows);
  });

  it('names every bad row by line number and field, at once', () => {
    const text = [
      'offset_seconds,size,steps,n', // 1
      '0,512x512,9,1', // 2
      'soon,512x512,9,1', // 3
      '1,512,9,1', // 4
      '2,512x512,0,1', // 5
      '3,512x512,9,17', // 6
      '4,512x512,nine,1', // 7
      '5,512x512,9,1,extra', // 8
      '-1,512x512,9,1', // 9
      '6,512x512,9,1', // 10
      '5.5,512x512,9,1', // 11
    ].join('\n');
    let error: unknown;
    try {
      parseTrace(text, 'morning.csv');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TraceError);
    expect((error as Error).message.split('\n')).toEqual([
      'morning.csv: 8 bad rows',
      '  line 3: offset_seconds "soon": must be a number',
      '  line 4: size "512": must be WIDTHxHEIGHT, e.g. 512x512',
      '  line 5: steps "0": must be a whole number from 1 to 50',
      '  line 6: n "17": must be a whole number from 1 to 16',
      '  line 7: steps "nine": must be a number',
      '  line 8: expected up to 4 columns (offset_seconds,size,steps,n), got 5',
      '  line 9: offset_seconds "-1": must be 0 or more seconds',
      "  line 11: offset 5.5 is before line 10's 6 (rows must be in time order)",
    ]);
  });

  it('refuses a trace without rows, and a first row that is neither a header nor a number', () => {
    expect(() => parseTrace('offset_seconds,size,steps,n\n# nothing yet\n', 'empty.csv')).toThrow(
      /^empty\.csv: no rows \(offset_seconds,size,steps,n\)$/,
    );
    expect(() => parseTrace('when,size\n0,512x512\n', 't.csv')).toThrow(
      /line 1: offset_seconds "when": must be a number/,
    );
  });
});
