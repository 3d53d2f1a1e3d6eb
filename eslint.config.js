// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/**
 * Import boundaries that make the folder tree tell the architecture:
 * shipped code never reaches into tests or dev scripts, the operator and the runtime meet
 * only through src/contract, and the pure parts (pipeline, policy) import no adapters.
 */
const boundaries = [
  {
    files: ['src/**/*.ts'],
    patterns: [
      {
        group: ['**/test/**', '**/scripts/**', '**/bench/**', '**/dev/**'],
        message: 'shipped code must not import tests, dev scripts, benchmarks or the local cluster',
      },
    ],
  },
  {
    // The local GPU cluster is a product feature (the README's demo runs on it): tests,
    // scripts and benchmarks import it, never the other way round.
    files: ['dev/**/*.ts'],
    patterns: [
      {
        group: ['**/test/**', '**/scripts/**', '**/bench/**'],
        message: 'the local cluster (dev/) must not import tests, scripts or benchmarks',
      },
    ],
  },
  {
    files: ['src/operator/**/*.ts'],
    patterns: [
      {
        group: ['**/runtime/**'],
        message: 'the operator talks to the runtime only through src/contract',
      },
    ],
  },
  {
    files: ['src/runtime/**/*.ts'],
    patterns: [
      {
        group: ['**/operator/**'],
        message: 'the runtime talks to the operator only through src/contract',
      },
    ],
  },
  {
    files: ['src/contract/**/*.ts'],
    patterns: [
      {
        group: ['**/operator/**', '**/runtime/**'],
        message: 'the contract is a leaf: both sides import it, it imports neither',
      },
    ],
    paths: ['fastify', '@kubernetes/client-node', 'onnxruntime-node'],
  },
  {
    files: ['src/runtime/pipeline/**/*.ts'],
    patterns: [
      {
        group: ['**/server/**', '**/http/**', '**/app.ts', '**/server.ts'],
        message: 'the pipeline knows nothing of HTTP',
      },
    ],
    paths: ['fastify', '@fastify/*'],
  },
  {
    files: ['src/operator/policy/**/*.ts', 'src/operator/autoscaler/**/*.ts'],
    patterns: [
      {
        group: ['**/k8s/**', '**/kube/**', '**/prometheus/**', '**/metrics/**'],
        message: 'decisions are pure: adapters stay at the edge',
      },
      {
        // The signal sources are adapters; their sample types (signals/sample.ts) are not.
        group: ['**/signals/*', '!**/signals/sample.ts'],
        message: 'decisions are pure: read signals through signals/sample.ts only',
      },
    ],
    paths: ['@kubernetes/client-node', 'prom-client', 'fastify'],
  },
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'coverage/',
      'charts/',
      'crds/',
      'tools/go/',
      '.gpubundle/',
      '.device/',
      '.device-cuda/',
      'tmp/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      complexity: ['error', 15],
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      'no-throw-literal': 'off',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  ...boundaries.map(({ files }) => {
    // ESLint replaces (does not merge) a rule set by an earlier block, so each folder's block
    // carries the restrictions of every folder above it too.
    const inherited = boundaries.filter((b) =>
      b.files.some((g) => files[0]?.startsWith(g.replace('**/*.ts', ''))),
    );
    const patterns = inherited.flatMap((b) => b.patterns);
    const paths = inherited.flatMap((b) => b.paths ?? []);
    return {
      files,
      rules: {
        '@typescript-eslint/no-restricted-imports': [
          'error',
          {
            patterns,
            paths: paths.map((name) => ({
              name,
              message: `${name} is not allowed here (import boundary)`,
            })),
          },
        ],
      },
    };
  }),
  {
    // Decisions take `now` as a parameter (STYLE.md): the policy reads no clock and sets no
    // timer, so a test passes time in as a value and the simulator replays hours in seconds.
    files: ['src/operator/policy/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'decide() takes now as a parameter' },
        { object: 'performance', property: 'now', message: 'decide() takes now as a parameter' },
        { object: 'process', property: 'hrtime', message: 'decide() takes now as a parameter' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'new Date() reads the clock: decide() takes now as a parameter',
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'the policy is pure: no timers' },
        { name: 'setInterval', message: 'the policy is pure: no timers' },
      ],
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  prettier,
);
