/**
 * Specs the local cluster's users start from: the smallest valid ZImageDeployment (the model
 * claim and an image), and the fleet's (the tiny model on the CPU EP, on the H100 pool), which
 * the demo, the benches and the tests run.
 */

type Spec = Record<string, unknown> & {
  runtime: Record<string, unknown>;
  model: Record<string, unknown>;
  autoscaling?: Record<string, unknown>;
  gpu?: Record<string, unknown>;
};

export const baseSpec = (): Spec => ({
  model: { source: { pvc: { claimName: 'zimage-models' } } },
  runtime: { image: 'registry.example/zimage-runtime:0.1.0' },
});

/** The CPU EP (no GPU here), on the H100 pool, small images. */
export const fleetSpec = (replicas = 1) => ({
  ...baseSpec(),
  replicas,
  runtime: { ...baseSpec().runtime, executionProvider: 'cpu', maxResolution: '512x512' },
  gpu: { nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' } },
});
