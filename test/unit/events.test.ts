/** The Event recorder's 10 minute de-duplication window, on the fake clock. */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ZImageDeploymentObject } from '../../src/operator/api/v1alpha1/types.ts';
import { EventRecorder } from '../../src/operator/events.ts';
import { reasons, type Reason } from '../../src/operator/reasons.ts';
import { FakeClock } from '../support/fake-clock.ts';

const minute = 60_000;

const object = (uid: string) =>
  ({ metadata: { name: `zid-${uid}`, namespace: 'ns', uid } }) as ZImageDeploymentObject;

interface Record {
  /** Ms since the start. */
  at: number;
  uid?: string;
  type?: 'Normal' | 'Warning';
  reason?: Reason;
  message?: string;
  /** The recorder's key: with the message (default) or per reason. */
  per?: 'message' | 'reason';
}

interface Row {
  name: string;
  records: Record[];
  /** When the API got a create, in ms since the start. */
  written: number[];
}

const rows: Row[] = [
  {
    name: 'the same event within 10 minutes is written once',
    records: [{ at: 0 }, { at: 30_000 }, { at: 10 * minute - 1 }],
    written: [0],
  },
  {
    name: 'the same event 10 minutes after it was written is written again',
    records: [{ at: 0 }, { at: 10 * minute }],
    written: [0, 10 * minute],
  },
  {
    name: 'the window counts from the last write, not from the last suppressed attempt',
    records: [0, 5, 10, 15, 19, 20].map((m) => ({ at: m * minute })),
    written: [0, 10 * minute, 20 * minute],
  },
  {
    name: 'another object, type, reason or message is another event',
    records: [
      { at: 0 },
      { at: 1, uid: 'other' },
      { at: 2, type: 'Normal' },
      { at: 3, reason: reasons.ModelClaimMissing },
      { at: 4, message: 'GPU resource unknown' },
      { at: 5 },
    ],
    written: [0, 1, 2, 3, 4],
  },
  {
    name: 'per reason: a count moving in the message is the same event (replicas: 100 on a full pool)',
    records: [13, 14, 20, 40, 100].map((n, i) => ({
      at: i * 2_000,
      reason: reasons.PodsUnschedulable,
      message: `${n} pods cannot be scheduled; pod "turbo-6f9c-a": 0/7 nodes are available`,
      per: 'reason' as const,
    })),
    written: [0],
  },
  {
    name: 'per reason: another reason or object is another event, and 10 minutes on, again',
    records: [
      { at: 0, reason: reasons.PodsUnschedulable, per: 'reason' },
      { at: 1, reason: reasons.ReplicaFailure, per: 'reason' },
      { at: 2, reason: reasons.PodsUnschedulable, uid: 'other', per: 'reason' },
      { at: 10 * minute, reason: reasons.PodsUnschedulable, message: '2 pods', per: 'reason' },
    ],
    written: [0, 1, 2, 10 * minute],
  },
];

describe('EventRecorder', () => {
  it.each(rows)('$name', async ({ records, written }) => {
    const clock = new FakeClock();
    const creates: number[] = [];
    const kube = {
      event: () => {
        creates.push(clock.now());
        return Promise.resolve();
      },
    };
    const recorder = new EventRecorder(kube, pino({ level: 'silent' }), clock);
    for (const r of records) {
      await clock.advance(r.at - clock.now());
      const cr = object(r.uid ?? 'a');
      const reason = r.reason ?? reasons.ReconcileFailed;
      const message = r.message ?? 'Deployment zid-a: spec.template is invalid';
      if ((r.type ?? 'Warning') === 'Warning') await recorder.warn(cr, { reason, message }, r.per);
      else await recorder.normal(cr, reason, message);
    }
    expect(creates).toEqual(written);
  });
});
