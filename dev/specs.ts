import { cards, stageSeconds } from '../src/contract/card.ts';
import { defaultAttention } from '../src/contract/runtime.ts';
import { formatSize } from '../src/contract/size.ts';

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

/**
 * Without the router (spec.router is on by default): the Service selects the runtime pods.
 * For tests and benchmarks of the runtime's own path, which address its pods directly; the
 * router's own tests and benchmarks, and the demo, keep it on.
 */
export const withoutRouter = <T extends object>(spec: T) => ({
  ...spec,
  router: { enabled: false },
});

/** The CPU EP (no GPU here), on the H100 pool, small images; without the router. */
export const fleetSpec = (replicas = 1) =>
  withoutRouter({
    ...baseSpec(),
    replicas,
    runtime: { ...baseSpec().runtime, executionProvider: 'cpu', maxResolution: '512x512' },
    gpu: { nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' } },
  });

/**
 * A workload the modelled card paces, not this machine's cores: 64x64 at 50 steps on the
 * modelled H100 is 6.5 ms of text encoder + 49 x 10.4 ms of transformer steps, ~0.52 s an
 * image (src/contract/card.ts), while the tiny model computes it in a fraction of that.
 * 2.4x `capacity` keeps one pod's GPU at ~100%.
 */
export const pacedWorkload = (() => {
  const width = 64;
  const height = 64;
  const steps = 50;
  const perImageSeconds = stageSeconds(cards['h100-80gb'], {
    width,
    height,
    steps,
    precision: 'bf16',
    offload: 'none',
    attention: defaultAttention,
  }).total;
  return {
    size: formatSize({ width, height }),
    steps,
    perImageSeconds,
    capacity: 1 / perImageSeconds,
  };
})();
