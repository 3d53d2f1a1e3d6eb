/**
 * The runtime's own PNG writer (node:zlib instead of fast-png's JS deflate, which took most of
 * the non-GPU time of a 1024x1024 image on an H200 host): a standard decoder (fast-png, CRCs
 * checked) reads back exactly the pixels, dimensions and channels; the bytes are deterministic.
 */
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { encodePng, toRgb8 } from '../../src/runtime/pipeline/image.ts';

function pattern(height: number, width: number): Uint8Array {
  const rgb = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++)
        rgb[(y * width + x) * 3 + c] = (x * 7 + y * 13 + c * 101 + ((x * y) % 17)) & 255;
  return rgb;
}

/** The conversion as first written (diffusers' VaeImageProcessor step by step), the reference. */
function toRgb8Reference(image: Float32Array, height: number, width: number): Uint8Array {
  const roundHalfEven = (x: number) => {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  };
  const plane = height * width;
  const out = new Uint8Array(plane * 3);
  for (let i = 0; i < plane; i++)
    for (let c = 0; c < 3; c++) {
      const x = Math.fround(Math.fround((image[c * plane + i] ?? 0) * 0.5) + 0.5);
      out[i * 3 + c] = roundHalfEven(Math.fround(Math.min(1, Math.max(0, x)) * 255));
    }
  return out;
}

describe('toRgb8', () => {
  it('equals the step-by-step conversion on halfway values, extremes and sampled fp32 values', () => {
    const values: number[] = [NaN, -0, 0, 1, -1, Infinity, -Infinity, 1e-40, -1e-40, 3.4e38];
    // Values whose * 255 lands exactly on or next to k + 0.5 (the round-half-to-even cases).
    const u = new Float32Array(1);
    const bits = new Int32Array(u.buffer);
    for (let k = 0; k < 255; k++)
      for (let d = -3; d <= 3; d++) {
        u[0] = (k + 0.5) / 255;
        bits[0] = (bits[0] ?? 0) + d;
        values.push(Math.fround((u[0] ?? 0) * 2 - 1));
      }
    for (let b = 0; b < 2 ** 32; b += 1_000_003) {
      bits[0] = b | 0;
      values.push(u[0] ?? 0);
    }
    while (values.length % 3 !== 0) values.push(0.5);
    const image = Float32Array.from(values);
    const width = image.length / 3;
    expect(
      Buffer.from(toRgb8(image, 1, width)).equals(Buffer.from(toRgb8Reference(image, 1, width))),
    ).toBe(true);
  });
});

describe('encodePng', () => {
  it.each([
    [1, 1],
    [64, 64],
    [48, 80], // not square: a swapped width/height would not decode to these pixels
    [3, 257],
  ])('%ix%i decodes to the same RGB pixels', (height, width) => {
    const rgb = pattern(height, width);
    const png = decode(encodePng(rgb, height, width), { checkCrc: true });
    expect([png.width, png.height, png.channels, png.depth]).toEqual([width, height, 3, 8]);
    expect(Buffer.from(png.data as Uint8Array).equals(Buffer.from(rgb))).toBe(true);
  });

  it('is deterministic and honours the deflate level', () => {
    const rgb = pattern(96, 128);
    const a = encodePng(rgb, 96, 128);
    expect(Buffer.from(encodePng(rgb, 96, 128)).equals(Buffer.from(a))).toBe(true);
    const stored = encodePng(rgb, 96, 128, 0);
    expect(stored.length).toBeGreaterThan(rgb.length);
    expect(Buffer.from(decode(stored).data as Uint8Array).equals(Buffer.from(rgb))).toBe(true);
  });

  it('round-trips a VAE-style float image through toRgb8', () => {
    const [h, w] = [16, 24];
    const image = Float32Array.from({ length: 3 * h * w }, (_, i) => Math.sin(i / 5) * 1.1);
    const rgb = toRgb8(image, h, w);
    expect(
      Buffer.from(decode(encodePng(rgb, h, w)).data as Uint8Array).equals(Buffer.from(rgb)),
    ).toBe(true);
  });

  it('refuses a buffer of the wrong size', () => {
    expect(() => encodePng(new Uint8Array(10), 2, 2)).toThrow(/12|10 bytes/);
  });
});
