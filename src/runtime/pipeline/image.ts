/**
 * VAE output -> 8-bit RGB -> PNG. The conversion follows diffusers' VaeImageProcessor
 * (x * 0.5 + 0.5, clamp to [0, 1], * 255, round half to even like numpy), so the pixels equal
 * diffusers' PIL image. PNG encoding is fast-png's (deterministic: same pixels, same bytes).
 */
import { encode } from 'fast-png';

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** image [3, H, W] in [-1, 1] (fp32) -> interleaved RGB bytes [H, W, 3]. */
export function toRgb8(image: Float32Array, height: number, width: number): Uint8Array {
  const plane = height * width;
  const out = new Uint8Array(plane * 3);
  for (let i = 0; i < plane; i++)
    for (let c = 0; c < 3; c++) {
      const v = Math.min(
        1,
        Math.max(0, Math.fround(Math.fround((image[c * plane + i] ?? 0) * 0.5) + 0.5)),
      );
      out[i * 3 + c] = roundHalfEven(Math.fround(v * 255));
    }
  return out;
}

export function encodePng(rgb: Uint8Array, height: number, width: number): Uint8Array {
  return encode({ width, height, data: rgb, channels: 3, depth: 8 });
}
