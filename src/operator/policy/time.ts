/**
 * Times in status are RFC 3339 strings (metav1.Time); decide() works in epoch milliseconds, the
 * `now` it is handed. Converting is not reading a clock: nothing here asks what time it is.
 */
export const iso = (ms: number): string => new Date(ms).toISOString();

export const parseTime = (t: string | undefined): number | undefined =>
  t === undefined ? undefined : Date.parse(t);
