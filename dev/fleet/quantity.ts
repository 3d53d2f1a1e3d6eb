/**
 * Kubernetes resource quantities ("500m", "24Gi", "1e3") as numbers, for the downward API's
 * resourceFieldRef. Only what a pod spec may hold; anything else is an error naming the text.
 */
const suffixes: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export function parseQuantity(text: string): number {
  const match =
    /^([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(
      text.trim(),
    );
  if (!match) throw new Error(`"${text}" is not a resource quantity (e.g. 500m, 2, 24Gi)`);
  const [, digits, exponent, suffix = ''] = match;
  const base = Number(digits);
  return exponent === undefined ? base * suffixes[suffix]! : base * 10 ** Number(exponent);
}
