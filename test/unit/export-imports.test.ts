import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../dev/paths.ts';

// The Python exporter (tools/export) is not run in CI (torch is ~4 GB), so its module structure is
// checked statically: run as a script, a module in an import cycle with the entry point loads a
// second time and registers its torch custom ops twice.
const dir = path.join(repoRoot, 'tools', 'export');
const modules = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.py'))
  .map((f) => f.slice(0, -3));
const source = (m: string) => fs.readFileSync(path.join(dir, `${m}.py`), 'utf8');

/** Local modules a file imports, at top level or inside a function; docstrings and comments skipped. */
function localImports(m: string): string[] {
  const found = new Set<string>();
  let inDocstring = false;
  for (const line of source(m).split('\n')) {
    const quotes = line.split('"""').length - 1;
    const code = !inDocstring && quotes === 0 && !line.trimStart().startsWith('#');
    if (quotes % 2 === 1) inDocstring = !inDocstring;
    if (!code) continue;
    const match =
      /^\s*(?:from\s+(\w+)\s+import\b|import\s+([\w\s,]+?)(?:\s+as\s+\w+)?\s*(?:#.*)?$)/.exec(line);
    const names = match?.[1] ? [match[1]] : (match?.[2]?.split(',').map((n) => n.trim()) ?? []);
    for (const name of names) if (modules.includes(name) && name !== m) found.add(name);
  }
  return [...found].sort();
}

const graph = Object.fromEntries(modules.map((m) => [m, localImports(m)]));

function cycleFrom(start: string, trail: string[] = []): string[] | undefined {
  if (trail.includes(start)) return [...trail, start];
  for (const next of graph[start] ?? []) {
    const cycle = cycleFrom(next, [...trail, start]);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('tools/export module structure', () => {
  it('the command line imports the builders and the references (the parser sees imports)', () => {
    expect(graph['export_zimage']).toEqual(['components', 'references']);
  });

  it.each(modules)('%s is in no import cycle', (m) => {
    expect(cycleFrom(m)).toBeUndefined();
  });

  it('no module imports the command line (run as a script it would load twice)', () => {
    expect(modules.filter((m) => graph[m]?.includes('export_zimage'))).toEqual([]);
  });

  it('the torch custom ops are defined in one module only', () => {
    const defining = modules.filter((m) => source(m).includes('torch.library.custom_op('));
    expect(defining).toEqual(['custom_ops']);
  });
});
