/**
 * Seeded Gaussian noise for the initial latents. The same seed gives the same noise on every
 * machine and EP (it is drawn on the host), which is what makes "same seed, same prompt, same
 * config -> same image bytes" hold. It does not reproduce torch.randn's stream: parity with
 * diffusers is tested by feeding diffusers' own initial latents.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** n standard-normal fp32 values (Box-Muller on xoroshiro128+). */
export function gaussianNoise(seed: number, n: number): Float32Array {
  const rng = xoroshiro128plus(seed | 0);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    // 1 - u keeps the log argument in (0, 1].
    const u1 = 1 - uniformFloat64(rng);
    const u2 = uniformFloat64(rng);
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}
