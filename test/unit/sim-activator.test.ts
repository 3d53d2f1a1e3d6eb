/**
 * Knative's activator in the simulated fleet (src/sim/activator.ts): a scripted controller
 * puts it in the path as the KPA would (its `activator` command), against numbers worked out
 * by hand from the card model; behind the router the command changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { cards, stageSeconds } from '../../src/contract/card.ts';
import type { QualitySettings } from '../../src/operator/api/v1alpha1/status.ts';
import type { Command, Controller } from '../../src/sim/controllers/controller.ts';
import { modelOf } from '../../src/sim/model.ts';
import { simulate, type Routing } from '../../src/sim/run.ts';
import type { TraceRow } from '../../src/sim/trace-csv.ts';
import { specOf } from '../support/policy-script.ts';

const h100 = cards['h100-80gb'];
const full: QualitySettings = { steps: 9, offload: 'none', attention: 'flash' };
/** One 1024x1024 image on the H100 at full quality: 1.23 s. */
const image = stageSeconds(h100, { width: 1024, height: 1024, precision: 'bf16', ...full }).total;
const model = {
  ...modelOf(specOf({ gpu: { memoryGiB: 80 } }), { card: h100 }),
  startupSeconds: 100,
};

/** The same command every second from 1 s on (the activator's mode set before any arrival). */
const every = (command: Command): Controller => ({
  name: 'scripted',
  periodSeconds: 1,
  log: [],
  tick: () => command,
});

const at = (offsetSeconds: number, n = 1): TraceRow => ({
  offsetSeconds,
  size: { width: 1024, height: 1024 },
  n,
});

const run = (trace: TraceRow[], c: Controller, pods: number, routing: Routing = 'service') =>
  simulate(trace, c, { model, quality: full, replicas: pods, seed: 1, routing });

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b).map((x) => x.toFixed(6));

describe('the activator behind the Service', () => {
  it('holds a request until a pod is free, then sends it to the first free pod', () => {
    // 2 pods: 8 images at 2.0 s take pod 0 (the first free), 1 image at 2.1 s pod 1; the image
    // at 2.2 s waits for pod 1, free at 2.1 + 1.23 s, and is back at 2.1 + 2 x 1.23 s: 2.36 s
    // after its arrival, where a random pod might have put it behind the 8 images.
    const out = run([at(2, 8), at(2.1), at(2.2)], every({ activator: true }), 2);
    expect(sorted(out.results.latencies)).toEqual(
      sorted([...Array<number>(8).fill(8 * image), image, 2.1 + 2 * image - 2.2]),
    );
    expect(out.front).toBe('Service + activator');
  });

  it('with no Ready pod it holds the request (no 503) until one is Ready', () => {
    // No pod; 1 asked at 1 s, Ready at 101 s: the request of 2 s runs then, back 99 s + 1.23 s
    // after it came. Without the activator the Service answers 503, retried at 3 s and 4 s:
    // lost.
    const trace = [at(2)];
    const proxied = run(trace, every({ replicas: 1, activator: true }), 0).results;
    expect(proxied.latencies.map((l) => l.toFixed(6))).toEqual([(99 + image).toFixed(6)]);
    const direct = run(trace, every({ replicas: 1, activator: false }), 0).results;
    expect([direct.served, direct.lost.unavailable]).toEqual([0, 1]);
  });

  it('counts what it holds as waiting (the concurrency KPA reads)', () => {
    // 1 pod busy with the 2.0 s image until 3.23 s; the 2.5 s one waits in the activator: the
    // sample at 3 s sees 1 waiting and 1 in flight.
    const out = simulate([at(2), at(2.5)], every({ activator: true }), {
      model,
      quality: full,
      replicas: 1,
      seed: 1,
      keepSamples: true,
    });
    const s = out.samples.find((x) => x.t === 3)!;
    expect([s.queue, s.inflight]).toEqual([1, 1]);
  });
});

describe('behind the router the activator command changes nothing', () => {
  it('runs the same with it as without it', () => {
    const trace = [at(2, 8), at(2.1), at(2.2), at(30, 3)];
    const withIt = run(trace, every({ activator: true }), 2, 'router');
    const without = run(trace, every({}), 2, 'router');
    expect(withIt.results).toEqual(without.results);
    expect(withIt.front).toBe('router, queue 64');
  });
});
