import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../dev/paths.ts';

// The config file itself (plain JS, untyped here): the globs it exports for the last check.
const config = (await import(pathToFileURL(path.join(repoRoot, 'eslint.config.js')).href)) as {
  guardedGlobs: string[];
};

// The project's real ESLint config, with type-aware rules off so that virtual files (not on
// disk, not in tsconfig) can be linted: only the import boundaries (the seams, and the floors
// of src/operator) are under test here.
const eslint = new ESLint({
  cwd: repoRoot,
  overrideConfig: [
    tseslint.configs.disableTypeChecked,
    { languageOptions: { parserOptions: { projectService: false, project: null } } },
  ],
});

const boundaryRules = new Set([
  '@typescript-eslint/no-restricted-imports',
  'no-restricted-imports',
]);

async function boundaryErrors(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: `${repoRoot}/${file}` });
  return (result?.messages ?? [])
    .filter((m) => boundaryRules.has(m.ruleId ?? ''))
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
    ['src/contract/x.ts', "import { a } from '../router/router.ts';", /the contract is a leaf/],
    ['src/router/x.ts', "import { a } from '../runtime/queue.ts';", /the router talks to/],
    ['src/router/x.ts', "import { a } from '../operator/reconcile.ts';", /the router talks to/],
    ['src/router/dispatch/x.ts', "import { request } from 'undici';", /not allowed here/],
    ['src/router/dispatch/x.ts', "import { a } from '../pods.ts';", /dispatch is pure/],
    ['src/router/dispatch/x.ts', "import { a } from '../http/generate.ts';", /dispatch is pure/],
    ['src/image-api/x.ts', "import { a } from '../runtime/app.ts';", /the image API is a leaf/],
    ['src/image-api/x.ts', "import { a } from '../router/app.ts';", /the image API is a leaf/],
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
      "import { DirectSource } from '../signals/direct/source.ts';",
      /read signals through signals\/sample.ts only/,
    ],
    [
      'src/operator/policy/x.ts',
      "import { PrometheusSource } from '../signals/prometheus/source.ts';",
      /read signals through signals\/sample.ts only/,
    ],
    [
      'dev/load/x.ts',
      "import { FakeClock } from '../../test/support/fake-clock.ts';",
      /dev\/\) must not import tests/,
    ],
    [
      'src/operator/autoscaling/signals.ts',
      "import { DirectSource } from '../signals/direct/source.ts';",
      /read signals through signals\/sample.ts only/,
    ],
    [
      'src/operator/autoscaling/decision.ts',
      "import { KubeConfig } from '@kubernetes/client-node';",
      /not allowed here/,
    ],
    [
      'src/operator/autoscaling/pod-ref.ts',
      "import type { Kube } from '../k8s/client.ts';",
      /decisions are pure: adapters stay at the edge/,
    ],
    [
      'src/operator/autoscaling/pod-ref.ts',
      "import { trimPod } from '../k8s/cached.ts';",
      /import only the types of k8s\/cached.ts/,
    ],
    [
      'src/operator/api/v1alpha1/x.ts',
      "import { childNames } from '../../builders/names.ts';",
      /api\/ is the ground floor/,
    ],
    [
      'src/operator/api/v1alpha1/x.ts',
      "import type { Reason } from '../../reasons.ts';",
      /api\/ is the ground floor/,
    ],
    [
      'src/operator/k8s/x.ts',
      "import { observe } from '../observe.ts';",
      /must not import the top floor/,
    ],
    [
      'src/operator/policy/x.ts',
      "import type { ConditionInput } from '../conditions.ts';",
      /must not import the top floor/,
    ],
    [
      'src/operator/builders/x.ts',
      "import { effectiveOf } from '../autoscaling/decision.ts';",
      /must not import autoscaling/,
    ],
    [
      'src/operator/signals/direct/x.ts',
      "import type { Problem } from '../../problem.ts';",
      /must not import the top floor/,
    ],
    [
      'src/formats/x.ts',
      "import { a } from '../operator/x.ts';",
      /src\/formats is the bottom leaf/,
    ],
    ['src/formats/x.ts', "import { a } from '../runtime/x.ts';", /src\/formats is the bottom leaf/],
    ['src/formats/x.ts', "import { a } from '../router/x.ts';", /src\/formats is the bottom leaf/],
    [
      'src/formats/x.ts',
      "import { a } from '../contract/x.ts';",
      /src\/formats is the bottom leaf/,
    ],
    ['src/formats/x.ts', "import fastify from 'fastify';", /fastify is not allowed here/],
    ['src/formats/x.ts', "import { a } from '../../dev/paths.ts';", /must not import tests/],
    [
      'src/sim/x.ts',
      "import { Dispatcher } from '../router/dispatch/dispatcher.ts';",
      /the simulator runs the router's pure functions only/,
    ],
    [
      'src/sim/x.ts',
      "import { createRouter } from '../router/router.ts';",
      /the simulator runs the router's pure functions only/,
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
    [
      'src/operator/autoscaling/signals.ts',
      "import type { V1Pod } from '@kubernetes/client-node';",
    ],
    ['src/operator/autoscaling/pod-ref.ts', "import type { CachedPod } from '../k8s/cached.ts';"],
    [
      'src/operator/api/v1alpha1/x.ts',
      "import { stepsRange } from '../../../contract/runtime.ts';",
    ],
    ['src/operator/api/v1alpha1/x.ts', "import { childNames } from './names.ts';"],
    ['src/operator/k8s/x.ts', "import type { Metrics } from '../metrics.ts';"],
    ['src/operator/k8s/x.ts', "import { labelKeys } from '../api/v1alpha1/names.ts';"],
    [
      'src/operator/builders/x.ts',
      "import { promDuration } from '../signals/prometheus/promql.ts';",
    ],
    ['src/operator/signals/direct/x.ts', "import { missing } from '../sample.ts';"],
    ['src/operator/reconcile.ts', "import { effectiveOf } from './autoscaling/decision.ts';"],
    ['src/formats/x.ts', "import { ApiException } from '@kubernetes/client-node';"],
    ['src/operator/signals/x.ts', "import { a } from '../../formats/prometheus-text.ts';"],
    [
      'src/operator/signals/direct/x.ts',
      "import { a } from '../../../formats/prometheus-text.ts';",
    ],
    ['src/operator/api/v1alpha1/x.ts', "import { a } from '../../../formats/quantity.ts';"],
    ['src/runtime/x.ts', "import { describeApiError } from '../formats/api-status.ts';"],
    ['src/router/x.ts', "import { parseTextFormat } from '../formats/prometheus-text.ts';"],
    ['dev/fleet/x.ts', "import { quantityValue } from '../../src/formats/quantity.ts';"],
    ['test/support/x.ts', "import { a } from '../../src/formats/prometheus-text.ts';"],
    ['src/sim/x.ts', "import { pick } from '../router/dispatch/pick.ts';"],
    ['src/sim/x.ts', "import { admit } from '../router/dispatch/admission.ts';"],
  ])('%s: %s is allowed', async (file, source) => {
    expect(await boundaryErrors(file, source)).toEqual([]);
  });
});

describe('the guards name real files (eslint.config.js)', () => {
  // A glob that matches nothing guards nothing, silently: 'autoscaler/**' once stood for the
  // autoscaling/ folder and left decision.ts and signals.ts unguarded.
  it.each(config.guardedGlobs)('%s matches a file', (glob) => {
    expect(fs.globSync(glob, { cwd: repoRoot })).not.toEqual([]);
  });
});
