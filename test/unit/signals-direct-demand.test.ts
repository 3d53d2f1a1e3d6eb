/**
 * The direct source's demand signals (issue 19) against router pods on 127.0.0.1 serving
 * /metrics as the router's own Registry renders it: the arrived-work counter's rate over a
 * toDemand rule's stable and panic windows, and the routers read while no runtime pod runs
 * (scale from zero).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DirectSource } from '../../src/operator/signals/direct/source.ts';
import type { PodRef, Reading } from '../../src/operator/signals/sample.ts';
import {
  localServer,
  routerBody,
  runtimeBody,
  type LocalServer,
  type RouterState,
  type RuntimeState,
} from '../support/signal-bodies.ts';

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serving(name: string, body: () => Promise<string>): Promise<PodRef> {
  const server = await localServer((_req, _body, res) => {
    void body().then((text) => res.writeHead(200).end(text));
  });
  servers.push(server);
  return { namespace: 'ml', name, ip: '127.0.0.1', port: server.port, nodeName: 'gpu-node-1' };
}

async function routerPod(name: string, state: RouterState) {
  return { state, ref: await serving(name, () => routerBody(state)) };
}

async function runtimePod(name: string, state: RuntimeState) {
  return { state, ref: await serving(name, () => runtimeBody(state)) };
}

const source = () =>
  new DirectSource({
    exporters: () => Promise.resolve([]),
    observer: { sampled: () => undefined, failed: () => undefined },
  });

const turbo = (pods: PodRef[]) => ({ namespace: 'ml', name: 'turbo', pods });
const value = (r: Reading) => (r.ok ? r.value : `${r.reason}: ${r.message}`);

async function routedTick(src: DirectSource, pods: PodRef[], routers: PodRef[], now: number) {
  const sample = await src.sample([{ ...turbo(pods), routers }], now);
  return sample.byKey.get('ml/turbo')!;
}

describe('direct source: the demand the routers see', () => {
  it("arrived work per second over the demand rule's stable and panic windows, summed over the routers", async () => {
    const pod = await runtimePod('turbo-a', {});
    const r1 = await routerPod('turbo-router-1', { arrivedWork: 0 });
    const r2 = await routerPod('turbo-router-2', { arrivedWork: 0 });
    const src = source();
    const windows = { stableSeconds: 60, panicSeconds: 10 };
    const at = async (t: number) =>
      (
        await src.sample(
          [{ ...turbo([pod.ref]), routers: [r1.ref, r2.ref], demandWindows: windows }],
          t,
        )
      ).byKey.get('ml/turbo')!;
    const first = await at(0);
    expect(first.arrivedWorkPerSecond).toMatchObject({ ok: false, reason: 'WindowNotFilled' });
    // 60 s of 1 image-s/s at router 1, then 10 s of 5 more at router 2.
    for (let t = 1; t <= 60; t++) {
      r1.state.arrivedWork = t;
      await at(t * 1000);
    }
    for (let t = 61; t <= 70; t++) {
      r1.state.arrivedWork = t;
      r2.state.arrivedWork = 5 * (t - 60);
      await at(t * 1000);
    }
    const s = await at(71_000);
    // Stable, from the scrape at 11 s to 71 s: router 1 went 11 -> 70, router 2 0 -> 50.
    expect(value(s.arrivedWorkPerSecond)).toBeCloseTo((59 + 50) / 60, 6);
    expect(s.arrivedWorkPerSecond).toMatchObject({ ok: true, windowSeconds: 60 });
    // Panic, from 61 s: router 1 61 -> 70, router 2 5 -> 50.
    expect(value(s.burstWorkPerSecond)).toBeCloseTo((9 + 45) / 10, 6);
  });

  it('no runtime pod yet (scale from zero): the routers are still read; pod signals NoPods', async () => {
    const r1 = await routerPod('turbo-router-1', { queuedImages: 1, queuedWork: 1.2 });
    const src = source();
    const s = await routedTick(src, [], [r1.ref], 0);
    expect(value(s.routerQueuedImages)).toBe(1);
    expect(value(s.routerQueuedWorkSeconds)).toBeCloseTo(1.2, 9);
    expect(s.queueDepth).toMatchObject({ ok: false, reason: 'NoPods' });
    expect(s.gpuUtilization).toMatchObject({ ok: false, reason: 'NoPods' });
  });
});
