/**
 * What size of image the runtime can run: the HTTP `size` field, ZIMAGE_MAX_RESOLUTION and the
 * warm-up size all pass this one test (their spelling is src/contract/size.ts's), so the server
 * never accepts a size the config would have refused.
 */
import { z } from 'zod';
import { formatSize, parseSize, type Size } from '../contract/size.ts';

/**
 * The VAE downsamples by 8 and the transformer patches 2x2 latents, so each side must be a
 * multiple of 16. 64 px is the floor: 64 / 16 = 4 patches a side, 16 image tokens, which the
 * transformer pads to 32; anything smaller is not a useful picture.
 */
export const sizeRules = { multiple: 16, min: 64, max: 4096 } as const;

/**
 * Why a size cannot run, or undefined when it can. The message names the fix, e.g.
 * "1000x1000: each side must be a multiple of 16 (try 1008x1008)".
 */
export function sizeProblem(size: Size, max: Size): string | undefined {
  const { multiple, min } = sizeRules;
  if (size.width % multiple !== 0 || size.height % multiple !== 0) {
    const up = (n: number) => Math.ceil(n / multiple) * multiple;
    const fixed = formatSize({ width: up(size.width), height: up(size.height) });
    return `each side must be a multiple of ${multiple} (try ${fixed})`;
  }
  if (size.width < min || size.height < min) return `each side must be at least ${min}`;
  if (size.width > max.width || size.height > max.height) {
    return `larger than this server's maximum ${formatSize(max)}`;
  }
  return undefined;
}

/**
 * A size setting (ZIMAGE_MAX_RESOLUTION, ZIMAGE_WARMUP_SIZE) in the runtime's and the router's
 * config: WxH that the runtime can run, up to the largest it ever accepts.
 */
export const sizeSetting = z.string().transform((text, ctx): Size => {
  const largest = { width: sizeRules.max, height: sizeRules.max };
  const parsed = parseSize(text);
  const problem = parsed
    ? sizeProblem(parsed, largest)
    : 'expected WIDTHxHEIGHT without spaces or leading zeros, e.g. 1024x1024';
  if (!parsed || problem) {
    ctx.addIssue({ code: 'custom', message: `"${text}": ${problem}` });
    return z.NEVER;
  }
  return parsed;
});
