/**
 * The simulated fleet against numbers worked out by hand from the card model and the
 * runtime's admission rules, with a scripted controller (commands at fixed times).
 */
import { describe, expect, it } from 'vitest';
import { cards, stageSeconds } from '../../src/contract/card.ts';
import type { TraceRow } from '../../src/sim/trace-csv.ts';
import type { QualitySettings } from '../../src/operator/api/v1alpha1/status.ts';
import type { Command, Controller } from '../../src/sim/controllers/controller.ts';
import { modelOf, type SimModel } from '../../src/sim/model.ts';
import { simulate } from '../../src/sim/run.ts';
import { specOf } from '../support/policy-script.ts';

const h100 = cards['h100-80gb'];
const full: QualitySettings = { steps: 9, offload: 'none', attention: 'flash' };
const image = (q: QualitySettings = full, size = 1024) =>
  stageSeconds(h100, { width: size, height: size, precision: 'bf16', ...q }).total;

const model = (over: Partial<SimModel> = {}): SimModel => ({
  ...modelOf(specOf({ gpu: { memoryGiB: 80 } }), { card: h100 }),
  startupSeconds: 100,
  ...over,
});

/** Commands at given seconds; nothing otherwise. */
function scripted(commands: Record<number, Command> = {}): Controller {
  return {
    name: 'scripted',
    periodSeconds: 1,
    log: [],
    tick: (now) => commands[Math.round(now)] ?? {},
  };
}

const at = (offsetSeconds: number, n = 1, size = 1024): TraceRow => ({
  offsetSeconds,
  size: { width: size, height: size },
  n,
});
const run = (trace: TraceRow[], c = scripted(), m = model(), replicas = 1) =>
  simulate(trace, c, { model: m, quality: full, replicas, seed: 1 });

describe('simulated fleet', () => {
  it('one image on an idle pod takes the card model’s time, 8 passes, and holds its GPU throughout', () => {
    const r = run([at(0)]).results;
    expect(r.latencies).toEqual([image()]);
    expect(r.passes).toBe(8);
    expect(r.withinSlo).toBe(1);
    // One warm pod for the whole run: the last arrival (0 s) plus the 120 s drain.
    expect(r.gpuSeconds).toBeCloseTo(120, 6);
  });

  it('one image at a time per pod: a second request waits for the first', () => {
    const r = run([at(0), at(0)]).results;
    expect(r.latencies[0]).toBeCloseTo(image(), 9);
    expect(r.latencies[1]).toBeCloseTo(2 * image(), 9);
  });

  it('n images in a request run one after another and answer together', () => {
    expect(run([at(0, 3)]).results.latencies).toEqual(Array(3).fill(3 * image()));
  });

  it('past maxQueue a request gets 429; without retries it is lost', () => {
    const burst = Array.from({ length: 10 }, () => at(0));
    const r = run(burst, scripted(), model({ retries: 0 })).results;
    // 1 generating + 8 queued (maxQueue 8) are served; the 10th is refused.
    expect(r.served).toBe(9);
    expect(r.lost.rejected).toBe(1);
  });

  it('a 429 retried after Retry-After (the queue’s drain time) is served late, not lost', () => {
    const burst = Array.from({ length: 10 }, () => at(0));
    const r = run(burst).results;
    expect(r.lost.rejected).toBe(0);
    // Retry-After = ceil(9 images x 1.22 s) = 11 s; by then 9 are done and it runs at once.
    expect(Math.max(...r.latencies)).toBeCloseTo(Math.ceil(9 * image()) + image(), 6);
  });

  it('a new pod serves only after its start-up; until then the one pod does everything', () => {
    const out = run([], scripted({ 1: { replicas: 2 } }));
    const ready = (t: number) => out.samples.find((s) => s.t === t)!.ready;
    expect([ready(1), ready(100), ready(101)]).toEqual([1, 1, 2]);
  });

  it('pods past the cluster’s GPUs stay Pending and start when a GPU frees', () => {
    const out = run([], scripted({ 1: { replicas: 3 }, 50: { replicas: 2 } }), model({ gpus: 2 }));
    const pending = (t: number) => out.samples.find((s) => s.t === t)!.pending;
    expect([pending(2), pending(49), pending(51)]).toEqual([1, 1, 0]);
  });

  it('steps change live, ~1 s after the command, on the next image', () => {
    const fewer = { ...full, steps: 5 };
    const r = run([at(0), at(20)], scripted({ 10: { quality: fewer } })).results;
    expect(r.latencies[1]).toBeCloseTo(image(fewer), 9);
    expect(r.passes).toBe(8 + 4);
  });

  it('an attention change rolls the pods one at a time (maxSurge 0): one fewer serves during each', () => {
    const efficient = { ...full, attention: 'efficient' as const };
    // A late request keeps the run going past both rolls (a run ends 120 s after the last).
    const out = run([at(300)], scripted({ 10: { quality: efficient } }), model({ gpus: 2 }), 2);
    const ready = (t: number) => out.samples.find((s) => s.t === t)!.ready;
    // Old pod 1 drains at 10 s, its replacement is Ready at 110 s; then pod 2 until 210 s.
    expect([ready(9), ready(11), ready(109), ready(111), ready(209), ready(211)]).toEqual([
      2, 1, 1, 1, 1, 2,
    ]);
  });

  it('the 16 GB card cannot hold 1024x1024 without offload: the runtime refuses it', () => {
    const m = { ...model(), card: cards['rtx4090-16gb'] };
    const r = simulate([at(0)], scripted(), { model: m, quality: full, replicas: 1, seed: 1 });
    expect(r.results.lost.refused).toBe(1);
    const offloaded = { ...full, offload: 'model' as const };
    const ok = simulate([at(0)], scripted(), {
      model: m,
      quality: offloaded,
      replicas: 1,
      seed: 1,
    });
    // 8-10 s of compute plus 9.7 s of session creation (the seed's diffusers offload: 12-15 s).
    expect(ok.results.latencies[0]).toBeGreaterThan(17);
    expect(ok.results.latencies[0]).toBeLessThan(20);
  });

  it('is deterministic for a seed, and the seed is what picks the pods', () => {
    const trace = Array.from({ length: 400 }, (_, i) => at(i * 0.4));
    const once = (seed: number) =>
      simulate(trace, scripted(), { model: model(), quality: full, replicas: 3, seed }).results;
    expect(once(7)).toEqual(once(7));
    expect(once(7).latencies).not.toEqual(once(8).latencies);
  });
});
