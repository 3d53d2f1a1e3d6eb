/**
 * The progress line of a load run: on a terminal one line rewritten in place a few times a
 * second; in a log (CI, a pipe) one line every `logEveryMs`, so a 10 min run writes 120 lines
 * rather than 2400.
 */
import type { Writable } from 'node:stream';

export interface LoadProgress {
  elapsedS: number;
  scheduleSeconds: number;
  sent: number;
  total: number;
  inFlight: number;
  statuses: Record<string, number>;
  /** p95 latency of the 200s so far; null before the first. */
  p95S: number | null;
}

export function progressLine(p: LoadProgress): string {
  const statuses = Object.entries(p.statuses)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  return [
    `load ${p.elapsedS.toFixed(1)}/${p.scheduleSeconds.toFixed(1)} s`,
    `sent ${p.sent}/${p.total}`,
    `in flight ${p.inFlight}`,
    `answered ${statuses || '-'}`,
    `p95 ${p.p95S === null ? '-' : `${p.p95S.toFixed(2)} s`}`,
  ].join('  ');
}

/** A sink for runLoad's onProgress that writes to `out` (a TTY or not). */
export function progressPrinter(
  out: Writable & { isTTY?: boolean },
  logEveryMs = 5_000,
): (p: LoadProgress, final: boolean) => void {
  let lastLoggedS = Number.NEGATIVE_INFINITY;
  return (p, final) => {
    if (out.isTTY) {
      // \r and "erase line" (CSI 2K): the line is rewritten where it stands.
      out.write(`\r\x1b[2K${progressLine(p)}${final ? '\n' : ''}`);
      return;
    }
    if (!final && (p.elapsedS - lastLoggedS) * 1000 < logEveryMs) return;
    lastLoggedS = p.elapsedS;
    out.write(`${progressLine(p)}\n`);
  };
}
