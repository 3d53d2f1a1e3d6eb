/**
 * Does the live object already carry everything we would apply? Server-side apply of an
 * unchanged object is still a write request, so the reconciler applies only when this says
 * no. Desired must be a subset of actual: the server adds defaults and other managers' fields,
 * which we ignore; a field we set that is missing or different (a hand edit) means re-apply.
 */
export function isSubset(desired: unknown, actual: unknown): boolean {
  if (desired === undefined) return true;
  if (desired === null || typeof desired !== 'object') return sameScalar(desired, actual);
  if (Array.isArray(desired)) {
    if (!Array.isArray(actual) || actual.length !== desired.length) return false;
    return desired.every((item, i) => isSubset(item, actual[i]));
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
  const live = actual as Record<string, unknown>;
  return Object.entries(desired as Record<string, unknown>).every(([key, value]) =>
    isSubset(value, live[key]),
  );
}

function sameScalar(desired: unknown, actual: unknown): boolean {
  if (desired === actual) return true;
  // The server may hand back an int-or-string the way it stores it ("1" vs 1).
  return typeof desired !== typeof actual && String(desired) === String(actual);
}
