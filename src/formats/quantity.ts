/**
 * Kubernetes resource quantities ("500m", "48Gi", "1e3"), parsed the way apimachinery's
 * resource.ParseQuantity does: exactly for the CEL `quantity()` library the API server offers
 * and generic CEL evaluators lack, as numbers for the local fleet's downward API. No maintained npm package does this: @kubernetes/client-node's
 * quantityToScalar goes through floats and throws on "1.5Gi", so this is a port of the Go
 * grammar (parseQuantityString plus the suffix table) with exact BigInt arithmetic.
 */

/** value = (negative ? -1 : 1) * unscaled * 10^scale, with unscaled >= 0. */
export interface Quantity {
  negative: boolean;
  unscaled: bigint;
  scale: number;
}

// The sign, the digits before and after the point, and the suffix: letters from the suffix
// alphabet, then an optional signed exponent. Go accepts odd corners ("", "-", ".", "Ki" are 0
// except ""), and so does this.
const grammar = /^([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*(?:[+-]?[0-9]+)?)$/;

const decimalSuffixes: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const binarySuffixes: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };

/** 2^63 - 1: Go caps binary-SI amounts (and only those) at the int64 maximum. */
const int64Max = 2n ** 63n - 1n;
const int64Min = -(2n ** 63n);

type Suffix = { base: 2 | 10; exponent: number };

function suffixOf(text: string): Suffix | undefined {
  if (text in decimalSuffixes) return { base: 10, exponent: decimalSuffixes[text]! };
  if (text in binarySuffixes) return { base: 2, exponent: 10 * binarySuffixes[text]! };
  if (text.length < 2 || (text[0] !== 'e' && text[0] !== 'E')) return undefined;
  const exponent = text.slice(1);
  if (!/^[+-]?[0-9]+$/.test(exponent)) return undefined;
  const parsed = BigInt(exponent); // strconv.ParseInt(..., 10, 64), then int32(parsed)
  if (parsed > int64Max || parsed < int64Min) return undefined;
  return { base: 10, exponent: Number(BigInt.asIntN(32, parsed)) };
}

const digits = (n: bigint) => (n === 0n ? 0 : n.toString().length);

/** A Quantity, or undefined where resource.ParseQuantity returns an error. */
export function parseQuantity(text: string): Quantity | undefined {
  if (text.length === 0) return undefined;
  const m = grammar.exec(text);
  if (!m) return undefined;
  const [, sign, whole = '', fraction = '', suffixText = ''] = m;
  const suffix = suffixOf(suffixText);
  if (!suffix) return undefined;
  // Go's slow path (more digits than an int64 holds, a scale below nano, or Pi and Ei, whose
  // precision estimate is negative) parses the digits without the suffix; with no digit at all
  // ("e-10", "Pi") that parse fails, while "Ki" and "m" take the fast path and are 0.
  const slow = suffix.base === 10 ? suffix.exponent < -9 : suffix.exponent >= 50;
  if (whole === '' && fraction === '' && slow) return undefined;
  const negative = sign === '-';
  let unscaled = BigInt(whole + fraction || '0');
  let scale = -fraction.length;
  if (suffix.base === 2) {
    unscaled *= 2n ** BigInt(suffix.exponent);
    // The cap applies in units of the point-free digits: compare unscaled * 10^scale to int64Max.
    if (unscaled > int64Max * 10n ** BigInt(-scale)) [unscaled, scale] = [int64Max, 0];
  } else {
    scale += suffix.exponent;
  }
  return roundUpToNano({ negative, unscaled, scale });
}

/**
 * A quantity as the nearest double ("500m" 0.5, "24Gi" 25769803776), for arithmetic that a
 * relative error of 2^-53 cannot hurt; throws naming the text where ParseQuantity errs.
 */
export function quantityValue(text: string): number {
  const q = parseQuantity(text);
  if (!q) throw new Error(`"${text}" is not a resource quantity (e.g. 500m, 2, 24Gi)`);
  // Through the decimal string, so one rounding: "1.5Mi" (15728640e-1) is exactly 1572864.
  return Number(`${q.negative ? '-' : ''}${q.unscaled}e${q.scale}`);
}

/**
 * Go rounds non-zero amounts finer than 1n away from zero ("if you want some resources, you
 * should get some"): 0.1n is 1n.
 */
function roundUpToNano(q: Quantity): Quantity {
  if (q.scale >= -9 || q.unscaled === 0n) return q;
  const drop = -9 - q.scale;
  if (drop > digits(q.unscaled)) return { ...q, unscaled: 1n, scale: -9 };
  const divisor = 10n ** BigInt(drop);
  const up = q.unscaled % divisor === 0n ? 0n : 1n;
  return { ...q, unscaled: q.unscaled / divisor + up, scale: -9 };
}

/** Like Quantity.Cmp: -1, 0 or 1. Exact at any scale (1e999999 costs no 10^999999 BigInt). */
export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 {
  const sa = a.unscaled === 0n ? 0 : a.negative ? -1 : 1;
  const sb = b.unscaled === 0n ? 0 : b.negative ? -1 : 1;
  if (sa !== sb || sa === 0) return sa < sb ? -1 : sa > sb ? 1 : 0;
  const magnitude = compareMagnitudes(a, b);
  return (sa < 0 ? -magnitude : magnitude) as -1 | 0 | 1;
}

function compareMagnitudes(a: Quantity, b: Quantity): -1 | 0 | 1 {
  // Orders of magnitude first; equal orders leave a scale gap of at most the digit count.
  const orderA = digits(a.unscaled) + a.scale;
  const orderB = digits(b.unscaled) + b.scale;
  if (orderA !== orderB) return orderA < orderB ? -1 : 1;
  const shift = a.scale - b.scale;
  const x = shift > 0 ? a.unscaled * 10n ** BigInt(shift) : a.unscaled;
  const y = shift < 0 ? b.unscaled * 10n ** BigInt(-shift) : b.unscaled;
  return x < y ? -1 : x > y ? 1 : 0;
}
