/**
 * The local fleet's overrides of a runtime pod's environment (dev/fleet/programs.ts), which
 * program an image and command stand for, and the card a node's GPU labels name
 * (dev/fleet/gpus.ts cardForNode).
 */
import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { cards } from '../../src/contract/card.ts';
import { cardForNode } from '../../dev/fleet/gpus.ts';
import { programFor, runtimeOverrides, type LaunchContext } from '../../dev/fleet/programs.ts';
import { buildRouterDeployment, defaultRouterImage } from '../../src/operator/builders/router.ts';
import { zimageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import { baseSpec } from '../support/specs.ts';

const node = (labels: Record<string, string>): V1Node => ({ metadata: { name: 'n', labels } });
const rtx = 'NVIDIA-GeForce-RTX-4090';

describe('cardForNode', () => {
  const rows: { name: string; labels: Record<string, string>; card: string | undefined }[] = [
    {
      name: 'H100 by product',
      labels: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
      card: 'h100-80gb',
    },
    {
      name: '4090 at 16384 MiB: the 16 GB budget',
      labels: { 'nvidia.com/gpu.product': rtx, 'nvidia.com/gpu.memory': '16384' },
      card: 'rtx4090-16gb',
    },
    {
      name: '4090 at 24564 MiB: the retail card',
      labels: { 'nvidia.com/gpu.product': rtx, 'nvidia.com/gpu.memory': '24564' },
      card: 'rtx4090-24gb',
    },
    {
      name: '4090 without a memory label',
      labels: { 'nvidia.com/gpu.product': rtx },
      card: 'rtx4090-16gb',
    },
    {
      name: 'a product we do not model',
      labels: { 'nvidia.com/gpu.product': 'NVIDIA-A10' },
      card: undefined,
    },
    { name: 'a CPU node', labels: {}, card: undefined },
  ];
  it.each(rows)('$name', ({ labels, card }) => {
    expect(cardForNode(node(labels))?.id).toBe(card);
  });
});

describe('runtimeOverrides', () => {
  const ctx = (over: Partial<LaunchContext> & { env?: Record<string, string> }): LaunchContext => ({
    podIp: '127.1.128.5',
    podEnv: new Map(Object.entries(over.env ?? {})),
    card: 'card' in over ? over.card : cards['h100-80gb'],
    pacing: over.pacing ?? true,
  });
  const rows: { name: string; ctx: LaunchContext; want: Record<string, string | undefined> }[] = [
    {
      name: 'a cuda pod on an H100 node: CPU EP, one thread, the card, paced',
      ctx: ctx({ env: { ZIMAGE_EXECUTION_PROVIDER: 'cuda' } }),
      want: {
        ZIMAGE_HOST: '127.1.128.5',
        ZIMAGE_EXECUTION_PROVIDER: 'cpu',
        ZIMAGE_INTRA_OP_THREADS: '1',
        ZIMAGE_GPU_CARD: 'h100-80gb',
        ZIMAGE_PACING: 'true',
      },
    },
    {
      name: 'pacing off in the fleet: the card still sets the fit check',
      ctx: ctx({ pacing: false }),
      want: { ZIMAGE_GPU_CARD: 'h100-80gb', ZIMAGE_PACING: undefined },
    },
    {
      name: 'no card (CPU node): neither card nor pacing (pacing needs a card)',
      ctx: ctx({ card: undefined }),
      want: { ZIMAGE_GPU_CARD: undefined, ZIMAGE_PACING: undefined },
    },
    {
      name: 'the pod names its card and threads: kept',
      ctx: ctx({ env: { ZIMAGE_GPU_CARD: 'rtx4090-24gb', ZIMAGE_INTRA_OP_THREADS: '2' } }),
      want: {
        ZIMAGE_GPU_CARD: 'rtx4090-24gb',
        ZIMAGE_INTRA_OP_THREADS: undefined,
        ZIMAGE_PACING: 'true',
      },
    },
    {
      name: 'the pod sets pacing itself: left to it',
      ctx: ctx({ env: { ZIMAGE_PACING: 'false' } }),
      want: { ZIMAGE_PACING: undefined },
    },
  ];
  it.each(rows)('$name', ({ ctx: c, want }) => {
    const got = runtimeOverrides(c);
    for (const [key, value] of Object.entries(want)) expect(got[key], key).toBe(value);
  });
});

describe('programFor', () => {
  // The command the operator renders for router pods, so the fleet runs what the operator builds.
  const routerCommand = buildRouterDeployment(
    {
      metadata: { name: 'turbo', namespace: 'ml', uid: 'u' },
      spec: zimageDeploymentSpec.parse({ ...baseSpec(), router: { enabled: true } }),
    },
    { image: defaultRouterImage },
  ).spec!.template.spec!.containers[0]!.command!;

  it.each([
    {
      name: 'the runtime image',
      image: 'registry.example/zimage-runtime:0.1.0',
      want: 'zimage-runtime',
    },
    {
      name: 'the operator image with the router command',
      image: defaultRouterImage,
      command: routerCommand,
      want: 'zimage-router',
    },
    {
      name: 'the operator image alone (the operator is not run here)',
      image: defaultRouterImage,
      want: undefined,
    },
    {
      name: 'the runtime image with the router command',
      image: 'zimage-runtime:1',
      command: routerCommand,
      want: undefined,
    },
    {
      name: 'the operator image with another command',
      image: defaultRouterImage,
      command: ['sh'],
      want: undefined,
    },
  ])('$name -> $want', ({ image, command, want }) => {
    expect(programFor(image, command)?.name).toBe(want);
  });
});
