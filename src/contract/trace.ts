/**
 * Request traces, the load generator's CSV format: one request per row, `offset,size,steps,n`
 * (seconds from the start, WIDTHxHEIGHT, steps or empty for the deployment's own, images per
 * request). A header row is optional; `#` starts a comment line. The simulator (src/sim)
 * replays them; the load generator writes and replays the same files against a live fleet.
 *
 * Bad input names the line and the column, so a hand-edited trace is fixed in one go.
 */
import { stepsRange } from './runtime.ts';

export interface TraceRow {
  /** Seconds from the start of the trace (>= 0). */
  offset: number;
  width: number;
  height: number;
  /** Steps the request asks for; undefined: the deployment's (live) steps. */
  steps?: number;
  /** Images in the request, generated one after another. */
  n: number;
}

export const traceHeader = 'offset,size,steps,n';

export class TraceError extends Error {
  readonly line: number;
  readonly column: string;
  constructor(line: number, column: string, message: string) {
    super(`trace line ${line}, ${column}: ${message}`);
    this.name = 'TraceError';
    this.line = line;
    this.column = column;
  }
}

const sizePattern = /^([0-9]{2,5})x([0-9]{2,5})$/;

function number(text: string, line: number, column: string, integer: boolean): number {
  const value = Number(text);
  if (text === '' || !Number.isFinite(value))
    throw new TraceError(line, column, `"${text}" is not a number`);
  if (integer && !Number.isInteger(value))
    throw new TraceError(line, column, `"${text}" must be a whole number`);
  return value;
}

function parseRow(fields: string[], line: number): TraceRow {
  if (fields.length !== 4)
    throw new TraceError(line, 'row', `expected 4 fields (${traceHeader}), got ${fields.length}`);
  const [offsetText, size, stepsText, nText] = fields.map((f) => f.trim()) as [
    string,
    string,
    string,
    string,
  ];
  const offset = number(offsetText, line, 'offset', false);
  if (offset < 0) throw new TraceError(line, 'offset', `${offset} is negative`);
  const match = sizePattern.exec(size);
  if (!match) throw new TraceError(line, 'size', `"${size}" must look like 1024x1024`);
  const n = number(nText, line, 'n', true);
  if (n < 1 || n > 16) throw new TraceError(line, 'n', `${n} is outside 1..16`);
  const row: TraceRow = { offset, width: Number(match[1]), height: Number(match[2]), n };
  if (stepsText !== '') {
    const steps = number(stepsText, line, 'steps', true);
    if (steps < stepsRange.min || steps > stepsRange.max)
      throw new TraceError(
        line,
        'steps',
        `${steps} is outside ${stepsRange.min}..${stepsRange.max}`,
      );
    row.steps = steps;
  }
  return row;
}

/** Parse a trace; rows come back sorted by offset (a stable sort: equal offsets keep order). */
export function parseTrace(text: string): TraceRow[] {
  const rows: TraceRow[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const content = raw.trim();
    if (content === '' || content.startsWith('#')) return;
    if (rows.length === 0 && content.replaceAll(' ', '') === traceHeader) return;
    rows.push(parseRow(content.split(','), i + 1));
  });
  return rows.sort((a, b) => a.offset - b.offset);
}

/** The CSV of rows, with the header; offsets to the millisecond. */
export function formatTrace(rows: readonly TraceRow[]): string {
  const lines = rows.map(
    (r) => `${Math.round(r.offset * 1000) / 1000},${r.width}x${r.height},${r.steps ?? ''},${r.n}`,
  );
  return `${traceHeader}\n${lines.join('\n')}\n`;
}
