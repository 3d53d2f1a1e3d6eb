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

/** Parse a trace; throws TraceError naming every bad row, and `source` (the file) first. */
export function parseTrace(text: string, source = 'trace'): TraceRow[] {
  const rows: TraceRow[] = [];
  const problems: TraceProblem[] = [];
  let previous: { offset: number; line: number } | undefined;
  let first = true;
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = index + 1;
    const content = raw.trim();
    if (content === '' || content.startsWith('#')) continue;
    const fields = content.split(',').map((f) => f.trim());
    // A header has no digit at all: "O.5,512x512,,1" is a bad row, "offset,size" a bad header.
    if (first && !/[0-9]/.test(content)) {
      first = false;
      if (fields.join(',') !== traceHeader)
        problems.push({ line, message: `header "${content}": must be ${traceHeader} (or none)` });
      continue;
    }
    first = false;
    const parsed = parseRow(fields, line);
    if (!('offsetSeconds' in parsed)) {
      problems.push(...parsed);
      continue;
    }
    if (previous && parsed.offsetSeconds < previous.offset) {
      const message = `${parsed.offsetSeconds} is before line ${previous.line}'s ${previous.offset} (rows must be in time order)`;
      problems.push({ line, column: 'offset_seconds', message });
    }
    previous = { offset: parsed.offsetSeconds, line };
    rows.push(parsed);
  }
  if (problems.length > 0) throw new TraceError(source, problems);
  if (rows.length === 0) throw new TraceError(source, [], `no rows (${traceHeader})`);
  return rows;
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
  const lines = rows.map((r) => {
    const size = r.size ? formatSize(r.size) : '';
    return `${Math.round(r.offsetSeconds * 1000) / 1000},${size},${r.steps ?? ''},${r.n ?? ''}`;
  });
  return `${traceHeader}\n${lines.join('\n')}\n`;
}
