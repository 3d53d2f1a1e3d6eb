/**
 * Request traces as CSV: one request per row, `offset_seconds,size,steps,n`, e.g.
 *
 *   offset_seconds,size,steps,n
 *   0,1024x1024,9,1
 *   0.5,512x512,,2        <- empty: the run's default (or the server's)
 *
 * A header row (first field not a number) and lines starting with # are skipped; rows must
 * be in time order. Every bad row is reported at once, by line number and field.
 */
import { traceRowSchema, type TraceRow } from './schedule.ts';

export const traceColumns = ['offset_seconds', 'size', 'steps', 'n'] as const;

export class TraceError extends Error {
  override name = 'TraceError';
}

/** Parse a trace; throws TraceError listing every bad row ("line 7: steps "x": ..."). */
export function parseTrace(text: string, source = 'trace'): TraceRow[] {
  const rows: TraceRow[] = [];
  const problems: string[] = [];
  let previous: { offset: number; line: number } | undefined;
  let headerAllowed = true;
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = index + 1;
    const text = raw.trim();
    if (text === '' || text.startsWith('#')) continue;
    const fields = text.split(',').map((f) => f.trim());
    if (headerAllowed && fields[0] !== undefined && !isNumber(fields[0])) {
      headerAllowed = false;
      if (/offset/i.test(fields[0])) continue;
    }
    headerAllowed = false;
    const parsed = parseRow(fields);
    if (typeof parsed === 'string') {
      problems.push(`line ${line}: ${parsed}`);
      continue;
    }
    if (previous && parsed.offsetSeconds < previous.offset) {
      problems.push(
        `line ${line}: offset ${parsed.offsetSeconds} is before line ${previous.line}'s ${previous.offset} (rows must be in time order)`,
      );
    }
    previous = { offset: parsed.offsetSeconds, line };
    rows.push(parsed);
  }
  if (problems.length > 0) {
    const count = problems.length === 1 ? '1 bad row' : `${problems.length} bad rows`;
    throw new TraceError(`${source}: ${count}\n  ${problems.join('\n  ')}`);
  }
  if (rows.length === 0) throw new TraceError(`${source}: no rows (${traceColumns.join(',')})`);
  return rows;
}

const isNumber = (field: string) => field !== '' && Number.isFinite(Number(field));

/** One row, or what is wrong with it. */
function parseRow(fields: string[]): TraceRow | string {
  if (fields.length < 1 || fields.length > traceColumns.length) {
    return `expected up to ${traceColumns.length} columns (${traceColumns.join(',')}), got ${fields.length}`;
  }
  const [offset = '', size = '', steps = '', n = ''] = fields;
  const candidate = {
    offsetSeconds: isNumber(offset) ? Number(offset) : Number.NaN,
    ...(size ? { size } : {}),
    ...(steps ? { steps: isNumber(steps) ? Number(steps) : Number.NaN } : {}),
    ...(n ? { n: isNumber(n) ? Number(n) : Number.NaN } : {}),
  };
  const result = traceRowSchema.safeParse(candidate);
  if (result.success) return result.data;
  const written: Record<string, string> = { offsetSeconds: offset, size, steps, n };
  const column: Record<string, string> = {
    offsetSeconds: 'offset_seconds',
    size: 'size',
    steps: 'steps',
    n: 'n',
  };
  return result.error.issues
    .map((issue) => {
      const key = String(issue.path[0]);
      const message = Number.isNaN(candidate[key as 'steps']) ? 'must be a number' : issue.message;
      return `${column[key] ?? key} "${written[key] ?? ''}": ${message}`;
    })
    .join('; ');
}
