/**
 * Leader election timing on the fake clock, against a fake Lease API on 127.0.0.1 (the real
 * API server and real processes are in test/integration/operator-failures.test.ts). Lease
 * 15 s, renew deadline 10 s, retry every 2 s: client-go's defaults, the operator's too.
 */
import { createServer } from 'node:http';
import type { V1Lease } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LeaderElector, microTime } from '../../src/operator/leader.ts';
import { createMetrics } from '../../src/operator/metrics.ts';
import { FakeClock } from '../support/fake-clock.ts';
import { listenAsApiServer } from '../support/loopback-api.ts';

const start = Date.parse('2026-03-01T12:00:00.000Z');
const retryMs = 2_000;

/** GET/POST/PUT of one Lease, with resourceVersion conflicts; `fail` answers 500 to all. */
function fakeLeaseApi() {
  const state = { lease: undefined as V1Lease | undefined, version: 0, fail: false };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const send = (code: number, object: unknown) =>
        res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(object));
      const failure = (code: number, message: string) =>
        send(code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, message });
      if (state.fail) return failure(500, 'etcdserver: request timed out');
      if (req.method === 'GET') {
        return state.lease ? send(200, state.lease) : failure(404, 'leases "leader" not found');
      }
      const lease = JSON.parse(body) as V1Lease;
      if (req.method === 'PUT' && lease.metadata?.resourceVersion !== `${state.version}`) {
        return failure(409, 'the object has been modified');
      }
      state.lease = stored(lease.spec ?? {}, ++state.version);
      send(req.method === 'POST' ? 201 : 200, state.lease);
    });
  });
  return { server, state };
}

function stored(spec: V1Lease['spec'], version: number): V1Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'leader', namespace: 'ns', resourceVersion: `${version}` },
    ...(spec ? { spec } : {}),
  };
}

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function setup(lease?: V1Lease['spec']) {
  const api = fakeLeaseApi();
  if (lease) api.state.lease = stored(lease, ++api.state.version);
  const kubeConfig = await listenAsApiServer(api.server);
  const clock = new FakeClock(start);
  const started: number[] = [];
  const lost: number[] = [];
  const elector = new LeaderElector({
    kubeConfig,
    namespace: 'ns',
    name: 'leader',
    identity: 'me',
    log: pino({ level: 'silent' }),
    metrics: createMetrics(),
    clock,
    onStarted: () => started.push(clock.now() - start),
    onLost: () => lost.push(clock.now() - start),
  });
  cleanup = async () => {
    await elector.release();
    await new Promise((resolve) => api.server.close(resolve));
  };

  /**
   * Let each election round finish (its Lease calls are real HTTP), then advance to the next
   * round, until `done()`. `before(t)` runs ahead of the round at t ms after the start.
   */
  const roundsUntil = async (done: () => boolean, before?: (t: number) => void) => {
    elector.start();
    for (let round = 0; round < 30; round++) {
      await vi.waitFor(() => expect(done() || clock.pending()[0] === retryMs).toBe(true), {
        interval: 2,
      });
      if (done()) return;
      before?.(clock.now() + retryMs - start);
      await clock.advance(retryMs);
    }
    throw new Error('no outcome within 30 election rounds');
  };
  return { api, clock, elector, started, lost, roundsUntil };
}

const heldByOther = () => ({
  holderIdentity: 'other',
  leaseDurationSeconds: 15,
  renewTime: microTime(start - 3_000),
  acquireTime: microTime(start - 60_000),
  leaseTransitions: 4,
});

interface TakeoverRow {
  name: string;
  lease: V1Lease['spec'] | undefined;
  /** When the other holder renews, in ms after the start. */
  renews: number[];
  /** When this candidate leads, in ms after the start. */
  at: number;
}

describe('LeaderElector', () => {
  it.each<TakeoverRow>([
    { name: 'no Lease yet: created and led at once', lease: undefined, renews: [], at: 0 },
    {
      name: 'a released Lease (no holder): taken at once',
      lease: { ...heldByOther(), holderIdentity: '' },
      renews: [],
      at: 0,
    },
    {
      // Seen first at 0; still held at 14 s (0 + 15 s > 14 s); the round at 16 s takes it.
      name: 'a Lease nobody renews: taken at the first round a full lease duration after it was first seen',
      lease: heldByOther(),
      renews: [],
      at: 16_000,
    },
    {
      name: 'each renewal by the holder restarts the wait (renewed at 10 s: taken at 26 s)',
      lease: heldByOther(),
      renews: [10_000],
      at: 26_000,
    },
  ])('$name', async ({ lease, renews, at }) => {
    const t = await setup(lease);
    await t.roundsUntil(
      () => t.started.length > 0,
      (next) => {
        const spec = t.api.state.lease?.spec;
        if (spec && renews.includes(next)) spec.renewTime = microTime(start + next);
      },
    );
    expect(t.started).toEqual([at]);
    const spec = t.api.state.lease?.spec;
    expect(spec?.holderIdentity).toBe('me');
    expect(spec?.renewTime).toBe(microTime(start + at));
    expect(spec?.leaseTransitions).toBe(lease ? 5 : 0);
  });

  it('steps down when no renewal succeeds within the renew deadline (10 s), then stops campaigning', async () => {
    const t = await setup();
    // Renewed at 0 and 2 s; the API fails from the round at 4 s on. 12 s - 2 s = 10 s is
    // not past the deadline; 14 s - 2 s is.
    await t.roundsUntil(
      () => t.lost.length > 0,
      (next) => {
        if (next === 4_000) t.api.state.fail = true;
      },
    );
    expect(t.started).toEqual([0]);
    expect(t.lost).toEqual([14_000]);
    expect(t.elector.isLeader()).toBe(false);
    expect(t.clock.pending()).toEqual([]);
  });

  it('release hands the Lease over at once: no holder, 1 s duration, renewed now', async () => {
    const t = await setup();
    await t.roundsUntil(() => t.started.length > 0);
    await t.clock.advance(500);
    await t.elector.release();
    expect(t.api.state.lease?.spec).toMatchObject({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      renewTime: microTime(start + 500),
      acquireTime: microTime(start),
    });
    expect(t.clock.pending()).toEqual([]);
  });
});
