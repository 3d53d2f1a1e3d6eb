/**
 * Image sizes as "WxH" text, the one grammar of every size the apps read or write: the
 * runtime's HTTP `size`, ZIMAGE_MAX_RESOLUTION and its warm-up size, the CRD's
 * spec.runtime.maxResolution, trace rows and the load generator's --size. What a size may be
 * (a multiple of 16, within a maximum) is each reader's own rule; how it is spelled is this.
 */

export interface Size {
  width: number;
  height: number;
}

/**
 * One side: 1 to 5 digits in plain decimal, no sign and no leading zero. A lenient reading
 * (" 512x512", "0512x0512") would take spellings only a mistake produces, and two spellings of
 * one size. Why 1-5: it is the widest rule any reader held before they shared this one (the
 * runtime's), so the CRD's pattern only widened (it took 3-4 digits): no object the API server
 * stored becomes invalid, and what the wider spelling lets through ("64x64", "10000x1") its
 * range rule (256..2048) still refuses. Traces took 2-5 digits with leading zeros; they now
 * refuse "0512x0512" as the runtime always did: a trace is a file to fix, not a stored object.
 *
 * RE2 and CEL syntax as well as JavaScript's (no backslashes: a CEL string literal would read
 * them as escapes), so the CRD's rule embeds this very text.
 */
export const sizePatternSource = '^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})$';
const sizePattern = new RegExp(sizePatternSource);

/** The smallest and largest side the grammar can spell. */
export const sizeSides = { min: 1, max: 99_999 } as const;

/** "1024x768" -> {width: 1024, height: 768}; undefined when the text is not exactly that form. */
export function parseSize(text: string): Size | undefined {
  const match = sizePattern.exec(text);
  if (!match) return undefined;
  return { width: Number(match[1]), height: Number(match[2]) };
}

export function formatSize(size: Size): string {
  return `${size.width}x${size.height}`;
}
