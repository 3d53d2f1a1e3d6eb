/**
 * Request traces as CSV, the one format of the load generator (`npm run load`, dev/load) and the
 * simulator (`npm run simulate`, src/sim): one request per row, e.g.
 *
 *   offset_seconds,size,steps,n
 *   0,1024x1024,9,1
 *   0.5,512x512,,2        <- empty: the replayer's default
 *
 * Columns: seconds from the start, WIDTHxHEIGHT, steps, images per request. Trailing columns may
 * be left out (`1.5` alone is a row). An empty field is the replayer's default: the load run's
 * --size/--steps/--n, else the server's (1024x1024, its live steps, 1 image); the simulator
 * uses the same (traceDefaults, the deployment's live steps). The header row is optional;
 * `#` lines and blank lines are skipped; rows must be in time order.
 *
 * Every bad row is reported at once, by line and column, so a hand-edited trace is fixed in one
 * go: "morning.csv: 2 bad rows / line 4: size "512": must be WIDTHxHEIGHT, e.g. 512x512 / ...".
 *
 * Here, beside the simulator: src/ may not import dev/, and neither the operator nor the runtime
 * reads a trace, so it is no part of src/contract; dev/load and scripts import it from here.
 */
import fs from 'node:fs';
import { z } from 'zod';
import { stepsRange } from '../contract/runtime.ts';
import { formatSize, parseSize, sizeSides } from '../contract/size.ts';

export const traceColumns = ['offset_seconds', 'size', 'steps', 'n'] as const;
export const traceHeader = traceColumns.join(',');

/**
 * What the runtime serves a request that names neither size nor n (src/image-api/request.ts:
 * 1024x1024 under the default maxResolution, one image).
 */
export const traceDefaults = { size: { width: 1024, height: 1024 }, n: 1 } as const;

const whole = (min: number, max: number) => {
  const error = `must be a whole number from ${min} to ${max}`;
  return z.number().int({ error }).min(min, { error }).max(max, { error });
};

/** One row as data; also what runLoad's `schedule.rows` takes from code. */
export const traceRowSchema = z
  .object({
    offsetSeconds: z.number().min(0, { error: 'must be 0 or more seconds' }),
    /** Any size the WxH grammar spells; whether the server accepts it is the server's. */
    size: z
      .object({
        width: whole(sizeSides.min, sizeSides.max),
        height: whole(sizeSides.min, sizeSides.max),
      })
      .strict()
      .optional(),
    steps: whole(stepsRange.min, stepsRange.max).optional(),
    /** The runtime's own cap is ZIMAGE_MAX_IMAGES_PER_REQUEST (at most 16). */
    n: whole(1, 16).optional(),
  })
  .strict();
export type TraceRow = z.infer<typeof traceRowSchema>;

export interface TraceProblem {
  line: number;
  /** A column of traceColumns, or undefined for the row as a whole. */
  column?: (typeof traceColumns)[number] | undefined;
  message: string;
}

export class TraceError extends Error {
  override name = 'TraceError';
  readonly problems: readonly TraceProblem[];
  constructor(source: string, problems: readonly TraceProblem[], summary?: string) {
    const bad = new Set(problems.map((p) => p.line)).size;
    const count = bad === 1 ? '1 bad row' : `${bad} bad rows`;
    const lines = problems.map(
      (p) => `line ${p.line}: ${p.column ? `${p.column} ` : ''}${p.message}`,
    );
    super(summary ? `${source}: ${summary}` : `${source}: ${count}\n  ${lines.join('\n  ')}`);
    this.problems = problems;
  }
}

const isNumber = (field: string) => field !== '' && Number.isFinite(Number(field));

/** Where parsed rows go: an array, or the simulator's PackedTrace. */
export interface RowSink {
  push(row: TraceRow): unknown;
  readonly length: number;
}

/** Parse a trace; throws TraceError naming every bad row, and `source` (the file) first. */
export function parseTrace(text: string, source = 'trace'): TraceRow[] {
  return parseTraceLines(linesOf(text), source, []);
}

/**
 * Read a trace file line by line into `into` (an array, a PackedTrace), 1 MiB at a time: a
 * 23-day trace is ~140 MB of text, which need never be held whole. Throws TraceError, or the
 * file system's error.
 */
export function readTraceFile<S extends RowSink>(file: string, into: S, source = file): S {
  const fd = fs.openSync(file, 'r');
  try {
    return parseTraceLines(fileLines(fd), source, into);
  } finally {
    fs.closeSync(fd);
  }
}

/** Write rows as the CSV, with the header, a chunk at a time (formatTrace for a string). */
export function writeTraceFile(file: string, rows: Iterable<TraceRow>): void {
  const fd = fs.openSync(file, 'w');
  try {
    let chunk = [traceHeader];
    for (const row of rows) {
      chunk.push(formatRow(row));
      if (chunk.length < 65_536) continue;
      fs.writeSync(fd, `${chunk.join('\n')}\n`);
      chunk = [];
    }
    fs.writeSync(fd, chunk.length > 0 ? `${chunk.join('\n')}\n` : '');
  } finally {
    fs.closeSync(fd);
  }
}

/** The lines of a text, without building the array of them. */
function* linesOf(text: string): Generator<string> {
  let from = 0;
  while (from <= text.length) {
    const end = text.indexOf('\n', from);
    const stop = end < 0 ? text.length : end;
    yield text.slice(from, stop > from && text[stop - 1] === '\r' ? stop - 1 : stop);
    from = stop + 1;
  }
}

function* fileLines(fd: number): Generator<string> {
  const buffer = Buffer.alloc(1 << 20);
  const decoder = new TextDecoder();
  let carry = '';
  for (let read = fs.readSync(fd, buffer); read > 0; read = fs.readSync(fd, buffer)) {
    const text = carry + decoder.decode(buffer.subarray(0, read), { stream: true });
    const last = text.lastIndexOf('\n');
    carry = text.slice(last + 1);
    if (last >= 0) yield* linesOf(text.slice(0, last));
  }
  yield* linesOf(carry + decoder.decode());
}

/**
 * Rows differ mostly in their offset: the rest of a line ("1024x1024,,1") is judged by the
 * schema once and remembered, up to this many distinct tails; the offset alone per row. Six
 * million rows then parse in seconds, not a minute.
 */
const tailMemo = 10_000;

function parseTraceLines<S extends RowSink>(lines: Iterable<string>, source: string, into: S): S {
  const problems: TraceProblem[] = [];
  const tails = new Map<string, Omit<TraceRow, 'offsetSeconds'> | undefined>();
  let previous: { offset: number; line: number } | undefined;
  let first = true;
  let line = 0;
  for (const raw of lines) {
    line++;
    const content = raw.trim();
    if (content === '' || content.startsWith('#')) continue;
    // A header has no digit at all: "O.5,512x512,,1" is a bad row, "offset,size" a bad header.
    if (first && !/[0-9]/.test(content)) {
      first = false;
      const fields = content.split(',').map((f) => f.trim());
      if (fields.join(',') !== traceHeader)
        problems.push({ line, message: `header "${content}": must be ${traceHeader} (or none)` });
      continue;
    }
    first = false;
    const parsed =
      quickRow(content, tails) ??
      parseRow(
        content.split(',').map((f) => f.trim()),
        line,
      );
    if (!('offsetSeconds' in parsed)) {
      problems.push(...parsed);
      continue;
    }
    if (previous && parsed.offsetSeconds < previous.offset) {
      const message = `${parsed.offsetSeconds} is before line ${previous.line}'s ${previous.offset} (rows must be in time order)`;
      problems.push({ line, column: 'offset_seconds', message });
    }
    previous = { offset: parsed.offsetSeconds, line };
    into.push(parsed);
  }
  if (problems.length > 0) throw new TraceError(source, problems);
  if (into.length === 0) throw new TraceError(source, [], `no rows (${traceHeader})`);
  return into;
}

/** A row whose tail the memo holds as good and whose offset the schema takes; else undefined. */
function quickRow(
  content: string,
  tails: Map<string, Omit<TraceRow, 'offsetSeconds'> | undefined>,
): TraceRow | undefined {
  const comma = content.indexOf(',');
  const tail = comma < 0 ? '' : content.slice(comma + 1);
  let rest = tails.get(tail);
  if (rest === undefined && !tails.has(tail) && tails.size < tailMemo) {
    const judged = parseRow(
      ['0', ...(comma < 0 ? [] : tail.split(','))].map((f) => f.trim()),
      0,
    );
    rest = 'offsetSeconds' in judged ? withoutOffset(judged) : undefined;
    tails.set(tail, rest);
  }
  if (rest === undefined) return undefined;
  const offset = content.slice(0, comma < 0 ? content.length : comma).trim();
  const checked = offsetSchema.safeParse(number(offset));
  return checked.success ? { offsetSeconds: checked.data, ...rest } : undefined;
}

const offsetSchema = traceRowSchema.shape.offsetSeconds;

function withoutOffset({ offsetSeconds: _, ...rest }: TraceRow): Omit<TraceRow, 'offsetSeconds'> {
  return rest;
}

const columnOf = {
  offsetSeconds: 'offset_seconds',
  size: 'size',
  steps: 'steps',
  n: 'n',
} as const satisfies Record<keyof TraceRow, (typeof traceColumns)[number]>;

const number = (field: string) => (isNumber(field) ? Number(field) : Number.NaN);

/** A row's fields as the schema's input: empty ones left out, a non-number as NaN. */
function candidateOf([offset = '', size = '', steps = '', n = '']: string[]) {
  const parsed = parseSize(size);
  return {
    offsetSeconds: number(offset),
    ...(parsed ? { size: parsed } : {}),
    ...(steps ? { steps: number(steps) } : {}),
    ...(n ? { n: number(n) } : {}),
  };
}

/** One row, or what is wrong with it, column by column. */
function parseRow(fields: string[], line: number): TraceRow | TraceProblem[] {
  if (fields.length > traceColumns.length) {
    const message = `expected up to ${traceColumns.length} columns (${traceHeader}), got ${fields.length}`;
    return [{ line, message }];
  }
  const [offset = '', size = '', steps = '', n = ''] = fields;
  const written = { offsetSeconds: offset, size, steps, n };
  const problems: TraceProblem[] = [];
  if (size && !parseSize(size)) {
    const message = `"${size}": must be WIDTHxHEIGHT, e.g. 512x512`;
    problems.push({ line, column: 'size', message });
  }
  const candidate = candidateOf(fields);
  const result = traceRowSchema.safeParse(candidate);
  if (result.success && problems.length === 0) return result.data;
  for (const issue of result.error?.issues ?? []) {
    const key = issue.path[0] as keyof TraceRow;
    const nan = Number.isNaN(candidate[key as 'steps']);
    const message = `"${written[key]}": ${nan ? 'must be a number' : issue.message}`;
    problems.push({ line, column: columnOf[key], message });
  }
  const order = (p: TraceProblem) => traceColumns.indexOf(p.column ?? 'offset_seconds');
  return problems.sort((a, b) => order(a) - order(b));
}

/** The CSV of rows, with the header; offsets to the millisecond. */
export function formatTrace(rows: readonly TraceRow[]): string {
  return `${traceHeader}\n${rows.map(formatRow).join('\n')}\n`;
}

function formatRow(r: TraceRow): string {
  const size = r.size ? formatSize(r.size) : '';
  return `${Math.round(r.offsetSeconds * 1000) / 1000},${size},${r.steps ?? ''},${r.n ?? ''}`;
}
