import { describe, expect, it } from 'vitest';
import { cards, stageSeconds, type Workload } from '../../src/contract/card.ts';
import { Pacer } from '../../src/runtime/pipeline/pacing.ts';
import { FakeClock } from '../support/fake-clock.ts';

const small: Workload = {
  width: 64,
  height: 64,
  steps: 9,
  precision: 'bf16',
  offload: 'none',
  attention: 'flash',
  schedule: 'linear-to-1/n',
};

/** Runs `hold` on a fake clock and says when it resolved (ms of fake time), or 'pending'. */
async function resolvedAt(clock: FakeClock, hold: Promise<void>, untilMs: number) {
  let at: number | undefined;
  void hold.then(() => (at = clock.now()));
  await clock.advance(untilMs - clock.now());
  return at ?? 'pending';
}

describe('pacing holds each stage for the card model time', () => {
  it('takes its stage times from the card model: 64x64 on the 24 GB 4090 is 1.0 s', () => {
    const pace = new Pacer(cards['rtx4090-24gb']).begin(small);
    const s = stageSeconds(cards['rtx4090-24gb'], small);
    expect(pace.modelledMs).toEqual({
      textEncoder: s.textEncoder * 1000,
      transformerStep: s.transformerStep * 1000,
      vae: s.vae * 1000,
    });
    // 64.1 ms + 9 x 103.2 ms + 2.3 ms.
    expect(pace.modelledMs.textEncoder).toBeCloseTo(64.1, 1);
    expect(pace.modelledMs.transformerStep).toBeCloseTo(103.2, 1);
    expect(s.total).toBeCloseTo(0.995, 3);
  });

  it('holds a fast stage until its modelled end, measured from when it began', async () => {
    const clock = new FakeClock();
    const pace = new Pacer(cards['rtx4090-24gb'], clock, () => clock.now()).begin(small);
    // The tiny text encoder took 10 ms of the modelled 64.1 ms: held for the other 54.1.
    await clock.advance(10);
    const hold = pace.textEncoder(0);
    expect(clock.pending()).toEqual([pace.modelledMs.textEncoder - 10]);
    expect(await resolvedAt(clock, hold, 64)).toBe('pending');
    expect(await resolvedAt(clock, hold, 65)).toBeCloseTo(pace.modelledMs.textEncoder, 6);
  });

  it('adds nothing to a stage whose real compute already took longer', async () => {
    const clock = new FakeClock();
    const pace = new Pacer(cards['rtx4090-24gb'], clock, () => clock.now()).begin(small);
    // A 64x64 VAE decode is modelled at 2.3 ms; the tiny one on a busy CPU took 30 ms.
    await clock.advance(30);
    const hold = pace.vae(0);
    expect(clock.pending()).toEqual([]);
    expect(await resolvedAt(clock, hold, 30)).toBe(30);
  });

  it('puts the transformer upload of offload model into the first step only', async () => {
    const card = cards['rtx4090-16gb'];
    const clock = new FakeClock();
    const pace = new Pacer(card, clock, () => clock.now()).begin({ ...small, offload: 'model' });
    const uploadMs = stageSeconds(card, { ...small, offload: 'model' }).transformerLoad * 1000;
    // 12.3 GB of transformer weights at the measured 2.1 GB/s of session creation.
    expect(uploadMs).toBeCloseTo(5857, 0);
    const step = pace.modelledMs.transformerStep;
    expect(await resolvedAt(clock, pace.transformerStep(0, 0), step + uploadMs + 1)).toBeCloseTo(
      step + uploadMs,
      6,
    );
    const since = clock.now();
    expect(await resolvedAt(clock, pace.transformerStep(since, 1), since + step + 1)).toBeCloseTo(
      since + step,
      6,
    );
  });
});
