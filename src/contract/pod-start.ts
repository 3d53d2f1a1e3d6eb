/**
 * How long a new runtime pod takes to serve, from the card model: what the router answers as
 * Retry-After while no pod is Ready (the operator renders it, src/operator/builders/router.ts)
 * and what the simulator waits before a pod it started takes work (src/sim/model.ts).
 */
import { cardForProduct, cards, components, stageSeconds, weightBytes } from './card.ts';
import type { Card, Workload } from './card.ts';

/**
 * Weights from a network volume at ~200 MB/s (docs/operator.md, the startup probe's budget):
 * 20.4 GB of bf16 weights take 102 s, inside the 60-120 s GPU cold starts that kserve#1247 and
 * knative/serving#15316 report; then the runtime's warm-up image before /readyz.
 */
export const volumeBytesPerSecond = 200e6;

/** Seconds from scheduling to Ready: the weight load plus one warm-up image of `w`. */
export function startupSeconds(card: Card, w: Workload): number {
  const weights = components.reduce((sum, c) => sum + weightBytes(c, w.precision), 0);
  return weights / volumeBytesPerSecond + stageSeconds(card, w).total;
}

/** What cardOf reads of a spec (the ZImageDeployment's spec.gpu). */
export interface GpuPlacement {
  gpu: { memoryGiB: number; nodeSelector?: Record<string, string> | undefined };
}

/** The card a spec runs on: its GFD product label, else the modelled card of its memory. */
export function cardOf(spec: GpuPlacement): Card {
  const product = spec.gpu.nodeSelector?.['nvidia.com/gpu.product'];
  const named = cardForProduct(product);
  if (named) return named;
  const byMemory = Object.values(cards).find(
    (c) => Math.abs(c.memoryBytes / 2 ** 30 - spec.gpu.memoryGiB) < 2,
  );
  return byMemory ?? cards['h100-80gb'];
}
