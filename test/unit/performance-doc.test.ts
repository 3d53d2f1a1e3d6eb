import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../dev/paths.ts';
import { documents, printed, quotedTables, rowsOf } from '../../scripts/docs-tables.ts';

// Each table re-runs its simulation in-process: about 1 s each on the 2-core host, daily-ramp's
// 2-hour trace 4-6 s; some 20 s for docs/performance.md's nine tables.
describe.each(documents)('the simulator tables in %s', (file) => {
  const tables = quotedTables(fs.readFileSync(path.join(repoRoot, file), 'utf8'), file);

  it('are there to check', () => {
    expect(tables.length).toBeGreaterThan(0);
  });

  it.each(tables.map((t) => [`line ${t.line}: ${t.args.join(' ')}`, t] as const))(
    '%s prints the table quoted (fix: npm run docs:tables -- --write)',
    (_name, table) => {
      expect(table.rows).toEqual(rowsOf(printed(table)));
    },
  );
});

const zid = '--zid deploy/examples/seed-rules.yaml --trace builtin:constant';
const header = '| policy | images <= 15 s | over | passes/img |';

describe('quotedTables', () => {
  it.each([
    {
      name: 'a table under its command, padded and with a rule line',
      doc: `Seed 1, \`npm run simulate -- ${zid} --seed 1\`:\n\n${header}\n| --- | :-: | --- | --- |\n|  zimage policy | 1% | 2 | 8.00 |\n\nprose`,
      want: [
        {
          args: [...zid.split(' '), '--seed', '1'],
          line: 3,
          start: 2,
          end: 5,
          rows: [
            ['policy', 'images <= 15 s', 'over', 'passes/img'],
            ['zimage policy', '1%', '2', '8.00'],
          ],
        },
      ],
    },
    {
      name: 'tables of other things',
      doc: `| measure | value |\n| --- | --- |\n| a | 1 |`,
      want: [],
    },
    {
      name: 'a command in prose with no table under it',
      doc: `\`npm run simulate -- ${zid}\` prints a table.\n\nMore prose.`,
      want: [],
    },
  ])('finds $name', ({ doc, want }) => {
    expect(quotedTables(doc, 'x.md')).toEqual(want);
  });

  it.each([
    {
      name: 'a simulator table with no command above it',
      doc: `Defaults:\n\n${header}\n| a | b | c | d |`,
      error: /^x\.md:3: a simulator table without its command/,
    },
    {
      name: 'a command without its seed',
      doc: `\`npm run simulate -- ${zid}\`:\n\n| policy |\n| a |`,
      error: /^x\.md:3: `npm run simulate -- --zid .*` needs --seed N$/,
    },
  ])('refuses $name, naming the line', ({ doc, error }) => {
    expect(() => quotedTables(doc, 'x.md')).toThrow(error);
  });
});
