/**
 * The terminal-zero sigma schedule (the original Z-Image pipeline: sigma_min = 0) ends with a
 * step whose dt is 0, which the pipeline skips: 9 steps are 8 transformer forwards. The tiny
 * fixture's zimage.json names the other schedule, so this test runs the real pipeline (CPU EP)
 * from a copy of the fixture whose zimage.json says terminal-zero (the ONNX files are links to
 * the fixture's), and counts the transformer session's runs and the timesteps they were fed.
 */
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadPipeline, type ZImagePipeline } from '../../src/runtime/pipeline/index.ts';
import { flowMatchSchedule, type SigmaSchedule } from '../../src/runtime/pipeline/scheduler.ts';
import { tinyModelDir } from '../support/references.ts';

const manifest = JSON.parse(readFileSync(path.join(tinyModelDir, 'zimage.json'), 'utf8')) as {
  scheduler: { sigmas: SigmaSchedule; shift: number; num_train_timesteps: number };
};
const { shift, num_train_timesteps: trainSteps } = manifest.scheduler;

/** The fixture with its scheduler's sigmas set to `schedule`. */
function modelDirWith(schedule: SigmaSchedule, into: string): string {
  const dir = path.join(into, schedule.replace(/\W/g, '-'));
  mkdirSync(dir);
  writeFileSync(
    path.join(dir, 'zimage.json'),
    JSON.stringify({ ...manifest, scheduler: { ...manifest.scheduler, sigmas: schedule } }),
  );
  for (const entry of readdirSync(tinyModelDir)) {
    if (entry !== 'zimage.json') symlinkSync(path.join(tinyModelDir, entry), path.join(dir, entry));
  }
  return dir;
}

describe('dt = 0 steps run no transformer forward', () => {
  const pipelines = new Map<SigmaSchedule, ZImagePipeline>();
  let tmp: string;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'zimage-schedule-'));
    for (const schedule of ['terminal-zero', 'linear-to-1/n'] as const) {
      const pipeline = await loadPipeline({
        modelDir: modelDirWith(schedule, tmp),
        executionProvider: 'cpu',
        attention: 'flash',
        offload: 'none',
        precision: 'bf16',
        intraOpThreads: 1,
      });
      await pipeline.pool.warm();
      pipelines.set(schedule, pipeline);
    }
  });
  afterAll(async () => {
    for (const pipeline of pipelines.values()) await pipeline.release();
    rmSync(tmp, { recursive: true, force: true });
  });

  // [schedule, steps, transformer forwards]
  const rows: [SigmaSchedule, number, number][] = [
    // linspace(1, 0, 9): the 9th step goes from sigma 0 to the appended 0.
    ['terminal-zero', 9, 8],
    // linspace(1, 0, 2) = [1, 0]: one real step, one with dt = 0.
    ['terminal-zero', 2, 1],
    // One step is [1] alone: sigma 1 -> 0, a real step.
    ['terminal-zero', 1, 1],
    // The fixture's schedule never reaches 0 before the end: every step is a forward.
    ['linear-to-1/n', 9, 9],
  ];

  it.each(rows)('%s, %i steps: %i forwards', async (schedule, steps, forwards) => {
    const pipeline = pipelines.get(schedule)!;
    const transformer = await pipeline.pool.acquire('transformer');
    const run = vi.spyOn(transformer, 'run');
    const stepped: number[] = [];
    try {
      const result = await pipeline.generate(
        { prompt: 'a red fox in snow', width: 64, height: 64, seed: 1, steps },
        { onStep: (index) => stepped.push(index) },
      );
      expect(run).toHaveBeenCalledTimes(forwards);
      expect(result.timings.stepMs).toHaveLength(forwards);
      expect(stepped).toEqual([...Array(forwards).keys()]);
      // The forwards were fed the schedule's first timesteps, as (1000 - t) / 1000; the
      // skipped step (t = 0, fed as 1) is not among them.
      const { timesteps } = flowMatchSchedule(steps, shift, schedule, trainSteps);
      const fed = run.mock.calls.map(([feeds]) => (feeds['timestep']?.data as Float32Array)[0]);
      const expected = [...timesteps.slice(0, forwards)].map((t) =>
        Math.fround((trainSteps - t) / trainSteps),
      );
      expect(fed).toEqual(expected);
    } finally {
      run.mockRestore();
    }
  });
});
