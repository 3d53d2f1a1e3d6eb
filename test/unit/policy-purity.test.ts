import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../dev/paths.ts';

// The project's ESLint config on virtual files (type-aware rules off, as in
// import-boundaries.test.ts): the policy reads no clock and sets no timer.
const eslint = new ESLint({
  cwd: repoRoot,
  overrideConfig: [
    tseslint.configs.disableTypeChecked,
    { languageOptions: { parserOptions: { projectService: false, project: null } } },
  ],
});

async function messages(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: `${repoRoot}/${file}` });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('the policy is pure (eslint.config.js)', () => {
  it.each([
    ['Date.now()', 'export const t = Date.now();', /takes now as a parameter/],
    ['new Date()', 'export const t = new Date();', /new Date\(\) reads the clock/],
    ['performance.now()', 'export const t = performance.now();', /takes now as a parameter/],
    ['setTimeout', 'setTimeout(() => undefined, 1);', /no timers/],
    ['prom-client', "import { Gauge } from 'prom-client';\nexport { Gauge };", /not allowed here/],
  ])('%s is refused in src/operator/policy', async (_name, source, message) => {
    expect((await messages('src/operator/policy/x.ts', source)).join('\n')).toMatch(message);
  });

  it.each([
    ['a time from a value', 'export const t = new Date(0).toISOString();'],
    ['parsing a status time', "export const t = Date.parse('2026-12-01T08:00:00Z');"],
  ])('%s is fine', async (_name, source) => {
    expect(await messages('src/operator/policy/x.ts', source)).toEqual([]);
  });

  it('the same code outside the policy is not flagged by these rules', async () => {
    expect(await messages('src/operator/x.ts', 'export const t = Date.now();')).toEqual([]);
  });
});
