import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // A few unit tests spawn a process (the operator CLI, the CUDA EP install script, the
          // exporter import check): on 2 loaded cores those took over vitest's 5 s default.
          // Speed is the benchmarks' business, not a unit test's.
          testTimeout: 30_000,
          // Groups run one after another (unit, then integration, then runtime): on 2 cores the
          // runtime's generations starve the control plane (kwok's fake nodes miss heartbeats and
          // the scheduler stops placing pods on them), so no generation runs while the cluster
          // tests do.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          // Real ONNX Runtime sessions and the real runtime server on the committed tiny model;
          // no Kubernetes. One file at a time: ORT uses the cores.
          name: 'runtime',
          include: ['test/runtime/**/*.test.ts'],
          environment: 'node',
          sequence: { groupOrder: 2 },
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          sequence: { groupOrder: 1 },
          // One real control plane for the suite (test/integration/global-setup.ts); tests that
          // disrupt it start their own. Files run one at a time: the host has 2 cores and the
          // control plane needs them.
          globalSetup: ['test/integration/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
