import { describe, expect, it } from 'vitest';
import { formatTrace, parseTrace, TraceError } from '../../src/contract/trace.ts';

describe('trace CSV (offset,size,steps,n)', () => {
  it('reads rows with and without a header, comments and blank lines, sorted by offset', () => {
    const text = '# a comment\noffset,size,steps,n\n2.5,512x512,,1\n\n0,1024x1024,8,2\n';
    expect(parseTrace(text)).toEqual([
      { offset: 0, width: 1024, height: 1024, steps: 8, n: 2 },
      { offset: 2.5, width: 512, height: 512, n: 1 },
    ]);
    expect(parseTrace('0,768x768,,1')).toEqual([{ offset: 0, width: 768, height: 768, n: 1 }]);
  });

  it('writes what it reads', () => {
    const rows = parseTrace('offset,size,steps,n\n0,1024x1024,,1\n1.25,512x512,6,3\n');
    expect(parseTrace(formatTrace(rows))).toEqual(rows);
  });

  it.each([
    ['too few fields', '0,1024x1024,1', 'line 1, row: expected 4 fields'],
    ['offset not a number', 'soon,1024x1024,,1', 'line 1, offset: "soon" is not a number'],
    ['negative offset', '-1,1024x1024,,1', 'line 1, offset: -1 is negative'],
    ['bad size', '0,1024,,1', 'line 1, size: "1024" must look like 1024x1024'],
    ['steps out of range', '0,1024x1024,80,1', 'line 1, steps: 80 is outside 1..50'],
    ['steps not whole', '0,1024x1024,7.5,1', 'line 1, steps: "7.5" must be a whole number'],
    ['n zero', 'offset,size,steps,n\n0,1024x1024,,0', 'line 2, n: 0 is outside 1..16'],
  ])('%s: names the line and the column', (_name, text, message) => {
    expect(() => parseTrace(text)).toThrow(TraceError);
    expect(() => parseTrace(text)).toThrow(message);
  });
});
