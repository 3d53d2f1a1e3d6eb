/**
 * No import cycle anywhere in the project's TypeScript, type-only imports included: a type two
 * files share lives in a leaf of its own (src/operator/problem.ts), never in one of them.
 * dpdm draws the graph (import-x/no-cycle skips `import type`, which is how observe.ts and
 * below.ts once went round in a circle unnoticed).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCircular, parseDependencyTree } from 'dpdm';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../dev/paths.ts';

async function graph(root: string, globs: readonly string[]) {
  const tree = await parseDependencyTree([...globs], {
    cwd: root,
    context: root,
    // Keep type-only imports: a cycle through a type is still a cycle of the drawn structure.
    transform: false,
    skipDynamicImports: false,
  });
  return { files: Object.keys(tree), cycles: parseCircular(tree) };
}

/** A throwaway folder of files, e.g. {'a.ts': "import type { B } from './b.ts';"}. */
function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'import-cycles-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('import cycles (dpdm)', () => {
  it('the project has none', async () => {
    const globs = ['src', 'dev', 'scripts', 'bench', 'test'].map((d) => `${d}/**/*.ts`);
    const { files, cycles } = await graph(repoRoot, globs);
    expect(files).toContain('src/operator/reconcile.ts');
    expect(cycles).toEqual([]);
  }, 60_000);

  it.each([
    [
      'a type-only circle is found',
      {
        'a.ts': "import type { B } from './b.ts';\nexport interface A { b?: B }\n",
        'b.ts': "import { type A } from './a.ts';\nexport interface B { a?: A }\n",
      },
      [['a.ts', 'b.ts']],
    ],
    [
      'a three-file circle is found',
      {
        'a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
        'b.ts': "import { c } from './c.ts';\nexport const b = () => c;\n",
        'c.ts': "import { a } from './a.ts';\nexport const c = () => a;\n",
      },
      [['a.ts', 'b.ts', 'c.ts']],
    ],
    [
      'a shared leaf is no circle',
      {
        'a.ts': "import type { L } from './leaf.ts';\nimport './b.ts';\nexport type A = L;\n",
        'b.ts': "import type { L } from './leaf.ts';\nexport type B = L;\n",
        'leaf.ts': 'export interface L { x: number }\n',
      },
      [],
    ],
  ])('%s', async (_name, files, want) => {
    const dir = folder(files);
    try {
      // A circle's files in order of the walk, which may start anywhere on it: compared sorted.
      const { cycles } = await graph(dir, ['*.ts']);
      expect(cycles.map((c) => [...c].sort())).toEqual(want);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
