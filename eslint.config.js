// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** What a pure decision may not import: adapters, and signal sources beyond their types. */
const purePatterns = [
  {
    group: ['**/k8s/**', '!**/k8s/cached.ts', '**/kube/**', '**/prometheus/**', '**/metrics/**'],
    message: 'decisions are pure: adapters stay at the edge',
  },
  {
    // The caches are adapters; the shapes of the objects they hold (k8s/cached.ts) are data.
    group: ['**/k8s/cached.ts'],
    allowTypeImports: true,
    message: 'decisions are pure: import only the types of k8s/cached.ts',
  },
  {
    // The signal sources are adapters; their sample types (signals/sample.ts) are not.
    group: ['**/signals/*', '!**/signals/sample.ts'],
    message: 'decisions are pure: read signals through signals/sample.ts only',
  },
];

/**
 * Import boundaries that make the folder tree tell the architecture:
 * shipped code never reaches into tests or dev scripts, the operator and the runtime meet
 * only through src/contract, every app reads the formats they share (Prometheus text,
 * quantities, API errors) from src/formats, and the pure parts (pipeline, policy) import no
 * adapters.
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
    files: ['src/router/**/*.ts'],
    patterns: [
      {
        group: ['**/operator/**', '**/runtime/**'],
        message:
          'the router talks to the operator and the runtime only through src/contract and src/image-api',
      },
    ],
  },
  {
    // The router's choices are pure, as decide() is: the simulator runs the same functions.
    files: ['src/router/dispatch/**/*.ts'],
    patterns: [
      {
        // From src/router/dispatch/x.ts, `../pods.ts` is the app around it (I/O).
        regex: String.raw`^\.\./(?!\.\./)`,
        message: 'dispatch is pure: no HTTP, no discovery, no metrics',
      },
    ],
    paths: ['fastify', '@kubernetes/client-node', 'prom-client', 'undici'],
  },
  {
    // The simulator runs the router's own choices (as it runs decide()), not the app around them.
    files: ['src/sim/**/*.ts'],
    patterns: [
      {
        regex: String.raw`(^|/)router/(?!dispatch/(pick|admission)\.ts$)`,
        message:
          "the simulator runs the router's pure functions only: dispatch/pick.ts, admission.ts",
      },
    ],
  },
  {
    // What the runtime and the router both serve: a leaf above src/contract.
    files: ['src/image-api/**/*.ts'],
    patterns: [
      {
        group: ['**/operator/**', '**/runtime/**', '**/router/**'],
        message:
          'the image API is a leaf: the runtime and the router import it, it imports neither',
      },
    ],
    paths: ['@kubernetes/client-node', 'onnxruntime-node'],
  },
  {
    files: ['src/contract/**/*.ts'],
    patterns: [
      {
        group: ['**/operator/**', '**/runtime/**', '**/router/**', '**/image-api/**'],
        message: 'the contract is a leaf: every app imports it, it imports none',
      },
    ],
    paths: ['fastify', '@kubernetes/client-node', 'onnxruntime-node'],
  },
  {
    // One parser per format, under every app (operator, runtime, router, simulator), dev/ and
    // test/. @kubernetes/client-node is allowed: API errors arrive as its ApiException.
    files: ['src/formats/**/*.ts'],
    patterns: [
      {
        group: ['**/operator/**', '**/runtime/**', '**/router/**', '**/sim/**', '**/contract/**'],
        message: 'src/formats is the bottom leaf: every app imports it, it imports none of them',
      },
    ],
    paths: ['fastify', 'onnxruntime-node', 'prom-client'],
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
    files: ['src/operator/policy/**/*.ts'],
    patterns: purePatterns,
    paths: ['@kubernetes/client-node', 'prom-client', 'fastify'],
  },
  {
    // The autoscaler's pure half: the decision inside the reconcile and the Signals it makes of
    // the sources' samples and the pods in the cache. A V1Pod there is data, so Kubernetes types
    // may be imported; the client may not. (loop.ts, step.ts and metrics.ts are its I/O.)
    files: [
      'src/operator/autoscaling/decision.ts',
      'src/operator/autoscaling/signals.ts',
      'src/operator/autoscaling/pending.ts',
      'src/operator/autoscaling/pod-ref.ts',
    ],
    patterns: purePatterns,
    paths: [{ name: '@kubernetes/client-node', allowTypeImports: true }, 'prom-client', 'fastify'],
  },
];

/**
 * The floors of src/operator, lowest first: a file imports its own floor and those below, never
 * one above, so the drawn import structure has no arrow running back up (and, with
 * test/unit/import-cycles.test.ts, no circle). api/ is the ground floor: schemas, names and the
 * default rule rows. The middle floor (builders/, k8s/, policy/, signals/) uses the ground, its
 * neighbours and metrics.ts (the operator's prom-client registry, a leaf). The top floor,
 * autoscaling/ and the files beside reconcile.ts, composes them.
 *
 * A separate rule from the seams above (the base no-restricted-imports), so the two add up
 * instead of one replacing the other. Specifiers are matched as written, hence one block per
 * folder depth: from src/operator/k8s/x.ts, `../reconcile.ts` is a top-floor file.
 */
const up = (depth) => String.raw`\.\./`.repeat(depth);
const middleFloor = (depth) => [
  {
    regex: String.raw`^${up(depth)}(?!metrics\.ts$)[^./][^/]*$`,
    message:
      'builders/, k8s/, policy/ and signals/ must not import the top floor (reconcile, observe, ...)',
  },
  {
    regex: `^${up(depth)}autoscaling/`,
    message: 'builders/, k8s/, policy/ and signals/ must not import autoscaling/ (the top floor)',
  },
];
const floors = [
  {
    files: ['src/operator/api/*/*.ts'],
    patterns: [
      {
        regex: String.raw`^\.\./\.\./(?!\.\./)`,
        message: 'api/ is the ground floor: it imports nothing else of src/operator',
      },
    ],
  },
  {
    files: [
      'src/operator/builders/*.ts',
      'src/operator/k8s/*.ts',
      'src/operator/policy/*.ts',
      'src/operator/signals/*.ts',
    ],
    patterns: middleFloor(1),
  },
  { files: ['src/operator/signals/*/*.ts'], patterns: middleFloor(2) },
];

/** What the policy may not read: it takes `now` as a parameter and sets no timer. */
const clockFiles = ['src/operator/policy/**/*.ts'];

/** Every glob a guard above names: test/unit/import-boundaries.test.ts checks each matches a file. */
export const guardedGlobs = [...boundaries, ...floors].flatMap((b) => b.files).concat(clockFiles);

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
            paths: paths.map((p) => {
              const { name, ...options } = typeof p === 'string' ? { name: p } : p;
              return { name, message: `${name} is not allowed here (import boundary)`, ...options };
            }),
          },
        ],
      },
    };
  }),
  ...floors.map(({ files, patterns }) => ({
    files,
    rules: { 'no-restricted-imports': ['error', { patterns }] },
  })),
  {
    // The informer caches drop managedFields (src/operator/k8s/cached.ts): read from a cached
    // object it is always missing. (Before the policy block, whose options replace these.)
    files: ['src/operator/**/*.ts'],
    ignores: ['src/operator/k8s/cached.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          property: 'managedFields',
          message:
            'the informer caches drop managedFields (k8s/cached.ts); read the object from the API',
        },
      ],
    },
  },
  {
    // Decisions take `now` as a parameter (STYLE.md): the policy reads no clock and sets no
    // timer, so a test passes time in as a value and the simulator replays hours in seconds.
    files: clockFiles,
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
