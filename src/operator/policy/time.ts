/**
 * Times in status are RFC 3339 strings (metav1.Time); decide() works in epoch milliseconds, the
 * `now` it is handed. Converting is not reading a clock: nothing here asks what time it is.
 */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** metav1.Time as the API server writes it (whole seconds): condition and status times. */
export const isoSeconds = (ms: number): string => iso(ms).replace(/\.\d{3}Z$/, 'Z');

export const parseTime = (t: string | undefined): number | undefined =>
  t === undefined ? undefined : Date.parse(t);
