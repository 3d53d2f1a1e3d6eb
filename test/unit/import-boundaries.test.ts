import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../dev/paths.ts';

// The project's real ESLint config, with type-aware rules off so that virtual files (not on
// disk, not in tsconfig) can be linted: only the import boundaries are under test here.
const eslint = new ESLint({
  cwd: repoRoot,
  overrideConfig: [
    tseslint.configs.disableTypeChecked,
    { languageOptions: { parserOptions: { projectService: false, project: null } } },
  ],
});

async function boundaryErrors(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: `${repoRoot}/${file}` });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports')
    .map((m) => m.message);
}

describe('import boundaries (eslint.config.js)', () => {
  it.each([
    ['src/runtime/pipeline/x.ts', "import fastify from 'fastify';", /fastify is not allowed here/],
    [
      'src/runtime/pipeline/x.ts',
      "import { a } from '../server/app.ts';",
      /the pipeline knows nothing of HTTP/,
    ],
    [
      'src/runtime/pipeline/x.ts',
      "import { a } from '../http/errors.ts';",
      /the pipeline knows nothing of HTTP/,
    ],
    [
      'src/runtime/pipeline/x.ts',
      "import { buildApp } from '../app.ts';",
      /the pipeline knows nothing of HTTP/,
    ],
    [
      'src/runtime/pipeline/x.ts',
      "import { a } from '../../operator/x.ts';",
      /only through src\/contract/,
    ],
    [
      'src/operator/x.ts',
      "import { a } from '../runtime/server.ts';",
      /only through src\/contract/,
    ],
    [
      'src/operator/policy/x.ts',
      "import { KubeConfig } from '@kubernetes/client-node';",
      /not allowed here/,
    ],
    [
      'src/operator/policy/x.ts',
      "import { a } from '../prometheus/source.ts';",
      /decisions are pure/,
    ],
    ['src/contract/x.ts', "import { a } from '../operator/x.ts';", /the contract is a leaf/],
    ['src/operator/x.ts', "import { a } from '../../dev/cluster.ts';", /must not import tests/],
    [
      'src/operator/x.ts',
      "import { a } from '../../test/support/k8s.ts';",
      /must not import tests/,
    ],
    ['dev/x.ts', "import { a } from '../test/support/k8s.ts';", /dev\/\) must not import tests/],
    ['dev/fleet/x.ts', "import { a } from '../../scripts/demo.ts';", /must not import tests/],
    [
      'src/operator/policy/x.ts',
      "import { DirectSource } from '../signals/direct.ts';",
      /read signals through signals\/sample.ts only/,
    ],
    [
      'src/operator/policy/x.ts',
      "import { PrometheusSource } from '../signals/prometheus.ts';",
      /read signals through signals\/sample.ts only/,
    ],
    [
      'dev/load/x.ts',
      "import { FakeClock } from '../../test/support/fake-clock.ts';",
      /dev\/\) must not import tests/,
    ],
  ])('%s: %s is refused', async (file, source, message) => {
    const errors = await boundaryErrors(file, source);
    expect(errors.join('\n')).toMatch(message);
  });

  it.each([
    ['src/operator/x.ts', "import { a } from '../contract/x.ts';"],
    ['src/runtime/server/x.ts', "import fastify from 'fastify';"],
    ['src/runtime/http/x.ts', "import fastify from 'fastify';"],
    ['src/runtime/worker/x.ts', "import { createPipeline } from '../pipeline/index.ts';"],
    ['src/operator/k8s/x.ts', "import { KubeConfig } from '@kubernetes/client-node';"],
    ['test/integration/x.ts', "import { a } from '../../dev/cluster.ts';"],
    ['scripts/x.ts', "import { a } from '../dev/cluster.ts';"],
    ['dev/x.ts', "import { a } from '../src/contract/labels.ts';"],
    ['src/operator/policy/x.ts', "import type { KeySignals } from '../signals/sample.ts';"],
  ])('%s: %s is allowed', async (file, source) => {
    expect(await boundaryErrors(file, source)).toEqual([]);
  });
});
