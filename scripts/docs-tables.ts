/**
 * The simulator's tables in the docs, each kept equal to what its command prints now. A table
 * names its command in the last code span of the nearest non-blank line above it, with the seed
 * spelled out, so a reader can re-run it:
 *
 *     `npm run simulate -- --zid deploy/examples/seed-rules.yaml --trace builtin:constant --seed 1`:
 *
 *     | policy | images <= 15 s | ...
 *
 * `npm run docs:tables` runs every such command and names each table that differs (exit 1);
 * `npm run docs:tables -- --write` rewrites them in place (prettier's table layout).
 * test/unit/performance-doc.test.ts runs the same check.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { format, resolveConfig } from 'prettier';
import { repoRoot } from '../dev/paths.ts';
import { simulation } from './simulate.ts';

/** The documents that quote simulator tables, relative to the repository root. */
export const documents = ['docs/performance.md'];

export interface QuotedTable {
  /** The arguments after `npm run simulate --`, as the doc spells them. */
  args: string[];
  /** 1-based line of the table's header. */
  line: number;
  /** The lines the table fills, [start, end), 0-based. */
  start: number;
  end: number;
  /** Header and rows, cells trimmed; the rule line left out. */
  rows: string[][];
}

const commandSpan = /`npm run simulate -- ([^`]+)`[^`]*$/;

const cellsOf = (line: string) =>
  line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((c) => c.trim());

const isRule = (cells: string[]) => cells.every((c) => /^:?-+:?$/.test(c));

/** A markdown table's header and rows as trimmed cells, whatever its padding. */
export function rowsOf(tableLines: readonly string[]): string[][] {
  return tableLines.map(cellsOf).filter((cells) => !isRule(cells));
}

function commandAbove(lines: readonly string[], header: number): string | undefined {
  let i = header - 1;
  while (i >= 0 && lines[i]!.trim() === '') i--;
  return i < 0 ? undefined : commandSpan.exec(lines[i]!)?.[1];
}

/**
 * Every table under a `npm run simulate --` span, and every table with the simulator's
 * `passes/img` column. Throws naming the line of one without its command or its seed: a
 * table nobody can re-run is what this check exists to prevent.
 */
export function quotedTables(markdown: string, file: string): QuotedTable[] {
  const lines = markdown.split('\n');
  const tables: QuotedTable[] = [];
  for (let start = 0; start < lines.length; start++) {
    if (!lines[start]!.startsWith('|') || lines[start - 1]?.startsWith('|')) continue;
    let end = start;
    while (lines[end]?.startsWith('|')) end++;
    const rows = rowsOf(lines.slice(start, end));
    const command = commandAbove(lines, start);
    const where = `${file}:${start + 1}`;
    if (command === undefined) {
      if (!rows[0]!.includes('passes/img')) continue;
      throw new Error(
        `${where}: a simulator table without its command: end the line above it with \`npm run simulate -- ... --seed N\``,
      );
    }
    const args = command.trim().split(/\s+/);
    if (!args.includes('--seed')) {
      throw new Error(`${where}: \`npm run simulate -- ${command}\` needs --seed N`);
    }
    tables.push({ args, line: start + 1, start, end, rows });
  }
  return tables;
}

/** What the table's command prints now; its paths are relative to the repository root, the cwd. */
export function printed(table: QuotedTable): string[] {
  return simulation(table.args).table.split('\n');
}

const same = (a: string[][], b: string[][]) => JSON.stringify(a) === JSON.stringify(b);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { write: { type: 'boolean', default: false } } });
  process.chdir(repoRoot);
  let stale = 0;
  for (const file of documents) {
    let staleHere = 0;
    const text = fs.readFileSync(file, 'utf8');
    const lines = text.split('\n');
    let tables: QuotedTable[];
    try {
      tables = quotedTables(text, file);
    } catch (err) {
      console.error(`docs-tables: ${(err as Error).message}`);
      process.exit(2);
    }
    for (const table of tables.toReversed()) {
      const started = performance.now();
      const now = printed(table);
      const ms = (performance.now() - started).toFixed(0);
      const ok = same(table.rows, rowsOf(now));
      console.log(
        `${ok ? 'same' : 'DIFFERS'} ${file}:${table.line} (${ms} ms) ${table.args.join(' ')}`,
      );
      if (ok) continue;
      staleHere++;
      if (!values.write) console.log(`  it prints now:\n${now.map((l) => `  ${l}`).join('\n')}`);
      lines.splice(table.start, table.end - table.start, ...now);
    }
    if (values.write && staleHere > 0) {
      const options = (await resolveConfig(path.resolve(file))) ?? {};
      fs.writeFileSync(file, await format(lines.join('\n'), { ...options, filepath: file }));
    }
    stale += staleHere;
  }
  if (stale > 0 && !values.write) {
    console.log(`${stale} table(s) differ: npm run docs:tables -- --write rewrites them`);
    process.exitCode = 1;
  } else if (stale > 0) {
    console.log(`rewrote ${stale} table(s); the prose around them may quote the old numbers`);
  }
}

if (import.meta.main) await main();
