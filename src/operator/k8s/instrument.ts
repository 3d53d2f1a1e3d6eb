import { ApiException } from '@kubernetes/client-node';
import type { Metrics } from '../metrics.ts';

export type Verb =
  | 'get'
  | 'list'
  | 'create'
  | 'apply'
  | 'update'
  | 'patch'
  | 'delete'
  | 'status'
  /** spec.replicas through the scale subresource (the autoscaler). */
  | 'scale'
  /** A dry-run create (writes nothing): is the desired object acceptable on its own? */
  | 'dryrun';

/** HTTP status of an API error, or 0 for a transport failure. */
export function statusCode(err: unknown): number {
  if (err instanceof ApiException) return err.code;
  const code =
    (err as { code?: unknown; statusCode?: unknown })?.statusCode ??
    (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : 0;
}

/** Run one API call and count it by verb and HTTP code (0 = no response). */
export async function instrumented<T>(
  metrics: Metrics,
  verb: Verb,
  call: () => Promise<T>,
): Promise<T> {
  try {
    const result = await call();
    metrics.apiRequests.inc({ verb, code: '200' });
    return result;
  } catch (err) {
    metrics.apiRequests.inc({ verb, code: String(statusCode(err)) });
    throw err;
  }
}
