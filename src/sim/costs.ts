/**
 * What one image of a workload costs on a card, worked out once: the card model (stage seconds,
 * memory plan, transformer passes) is pure, and a long run starts millions of images of a
 * handful of workloads (sizes x steps x offload x attention).
 */
import {
  forwardsFor,
  memoryPlan,
  stageSeconds,
  type Card,
  type Workload,
} from '../contract/card.ts';

export interface ImageCost {
  /** Seconds of one image. */
  seconds: number;
  /** The arena's peak, bytes, and whether it fits the card (else the runtime's 413). */
  peakBytes: number;
  fits: boolean;
  /** Transformer passes of one image. */
  passes: number;
}

const byCard = new WeakMap<Card, Map<string, ImageCost>>();

export function imageCost(card: Card, w: Workload): ImageCost {
  let costs = byCard.get(card);
  if (!costs) byCard.set(card, (costs = new Map<string, ImageCost>()));
  const key = `${w.width}x${w.height}/${w.steps}/${w.schedule ?? ''}/${w.precision}/${w.offload}/${w.attention}`;
  let cost = costs.get(key);
  if (!cost) {
    const plan = memoryPlan(card, w);
    cost = {
      seconds: stageSeconds(card, w).total,
      peakBytes: plan.peakBytes,
      fits: plan.fits,
      passes: forwardsFor(w),
    };
    costs.set(key, cost);
  }
  return cost;
}
