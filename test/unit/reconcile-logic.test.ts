import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { setCondition } from '../../src/operator/conditions.ts';
import { isSubset } from '../../src/operator/k8s/compare.ts';
import { observe } from '../../src/operator/observe.ts';
import { reasons } from '../../src/operator/reasons.ts';
import { fieldPath } from '../../src/operator/reconcile.ts';

const effective = {
  replicas: 2,
  steps: 9,
  offload: 'none',
  attention: 'flash',
  executionProvider: 'cuda',
} as const;
const deployment = (status: V1Deployment['status'], generation = 1): V1Deployment => ({
  metadata: { generation },
  status: { observedGeneration: generation, ...status },
});

describe('setCondition', () => {
  const t0 = '2026-01-01T00:00:00Z';
  const t1 = '2026-01-01T00:05:00Z';
  it('moves lastTransitionTime only when the status flips', () => {
    const first = setCondition(
      undefined,
      { type: 'Ready', status: 'False', reason: reasons.PodsNotReady, message: '0/1' },
      1,
      t0,
    );
    const same = setCondition(
      first,
      { type: 'Ready', status: 'False', reason: reasons.PodsNotReady, message: '0/2' },
      2,
      t1,
    );
    expect(same[0]).toMatchObject({
      lastTransitionTime: t0,
      message: '0/2',
      observedGeneration: 2,
    });
    const flipped = setCondition(
      same,
      { type: 'Ready', status: 'True', reason: reasons.Available, message: 'ok' },
      2,
      t1,
    );
    expect(flipped[0]!.lastTransitionTime).toBe(t1);
    expect(flipped).toHaveLength(1);
  });
});

describe('observe (status from children)', () => {
  const base = {
    name: 'x',
    generation: 3,
    previous: undefined,
    effective,
    now: '2026-01-01T00:00:00Z',
  };
  it.each([
    [
      'all ready',
      deployment({ replicas: 2, readyReplicas: 2, updatedReplicas: 2 }),
      'True',
      'False',
    ],
    [
      'one pod not ready',
      deployment({ replicas: 2, readyReplicas: 1, updatedReplicas: 2 }),
      'False',
      'False',
    ],
    [
      'rolling: old pods still around',
      deployment({ replicas: 3, readyReplicas: 2, updatedReplicas: 1 }),
      'True',
      'True',
    ],
    [
      'controller has not seen the new generation',
      deployment({ replicas: 2, readyReplicas: 2, updatedReplicas: 2, observedGeneration: 1 }, 2),
      'True',
      'True',
    ],
  ] as const)('%s -> Ready=%s, Progressing=%s', (_n, d, ready, progressing) => {
    const status = observe({ ...base, deployment: d });
    const get = (t: string) => status.conditions?.find((c) => c.type === t)?.status;
    expect(get('Ready')).toBe(ready);
    expect(get('Progressing')).toBe(progressing);
    expect(get('MetricsAvailable')).toBe('Unknown');
    expect(status.observedGeneration).toBe(3);
    expect(status.selector).toBe(
      'app.kubernetes.io/name=zimage-runtime,app.kubernetes.io/instance=x',
    );
  });

  it('reports a blocking problem as Ready=False with its reason', () => {
    const status = observe({
      ...base,
      problem: { reason: reasons.ModelClaimMissing, message: 'no claim' },
    });
    expect(status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ModelClaimMissing',
    });
  });

  it('is stable: observing twice with the same input gives an equal status (no write)', () => {
    const d = deployment({ replicas: 2, readyReplicas: 2, updatedReplicas: 2 });
    const once = observe({ ...base, deployment: d });
    expect(
      observe({ ...base, deployment: d, previous: once, now: '2026-02-02T00:00:00Z' }),
    ).toEqual(once);
  });
});

describe('isSubset (does the live object already hold what we apply?)', () => {
  it.each([
    ['server defaults added', { a: 1 }, { a: 1, b: 2 }, true],
    ['field changed by hand', { a: 1 }, { a: 2 }, false],
    ['field removed', { a: { b: 1 } }, { a: {} }, false],
    ['list element changed', { l: [{ n: 'x', v: 1 }] }, { l: [{ n: 'x', v: 2 }] }, false],
    [
      'list element gained defaults',
      { l: [{ n: 'x' }] },
      { l: [{ n: 'x', protocol: 'TCP' }] },
      true,
    ],
    ['list grew', { l: [1] }, { l: [1, 2] }, false],
    ['int-or-string normalised', { q: '1' }, { q: 1 }, true],
    ['missing object', { a: 1 }, undefined, false],
  ])('%s -> %s', (_n, desired, actual, expected) => {
    expect(isSubset(desired, actual)).toBe(expected);
  });
});

describe('fieldPath', () => {
  it('writes zod paths as the API server does', () => {
    expect(fieldPath(['spec', 'autoscaling', 'rules', 0, 'threshold'])).toBe(
      'spec.autoscaling.rules[0].threshold',
    );
  });
});
