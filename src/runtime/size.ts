/**
 * Image sizes as "WxH" strings: the HTTP `size` field, ZIMAGE_MAX_RESOLUTION and the warm-up size
 * all use this one reading, so the server never accepts a size the config would have refused.
 */

/**
 * The VAE downsamples by 8 and the transformer patches 2x2 latents, so each side must be a
 * multiple of 16. 64 px is the floor: 64 / 16 = 4 patches a side, 16 image tokens, which the
 * transformer pads to 32; anything smaller is not a useful picture.
 */
export const sizeRules = { multiple: 16, min: 64, max: 4096 } as const;

export interface Size {
  width: number;
  height: number;
}

/**
 * Exactly two positive integers in plain decimal: no spaces, signs or leading zeros. A lenient
 * reading (" 512x512", "0512x0512") would accept spellings a client or a YAML file can only
 * have produced by mistake, and two spellings of one size.
 */
const sizePattern = /^([1-9]\d{0,4})x([1-9]\d{0,4})$/;

/** "1024x768" -> {width: 1024, height: 768}; undefined when the text is not exactly that form. */
export function parseSize(text: string): Size | undefined {
  const match = sizePattern.exec(text);
  if (!match) return undefined;
  return { width: Number(match[1]), height: Number(match[2]) };
}

export function formatSize(size: Size): string {
  return `${size.width}x${size.height}`;
}

/**
 * Why a size cannot run, or undefined when it can. The message names the fix, e.g.
 * "1000x1000: each side must be a multiple of 16 (try 1008x1008)".
 */
export function sizeProblem(size: Size, max: Size): string | undefined {
  const { multiple, min } = sizeRules;
  if (size.width % multiple !== 0 || size.height % multiple !== 0) {
    const up = (n: number) => Math.ceil(n / multiple) * multiple;
    return `each side must be a multiple of ${multiple} (try ${up(size.width)}x${up(size.height)})`;
  }
  if (size.width < min || size.height < min) return `each side must be at least ${min}`;
  if (size.width > max.width || size.height > max.height) {
    return `larger than this server's maximum ${formatSize(max)}`;
  }
  return undefined;
}
