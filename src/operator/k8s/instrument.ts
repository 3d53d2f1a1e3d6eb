import { statusCode } from '../../formats/api-status.ts';
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

/** Run one API call, count it by verb and HTTP code (0 = no response) and time it. */
export async function instrumented<T>(
  metrics: Metrics,
  verb: Verb,
  call: () => Promise<T>,
): Promise<T> {
  const end = metrics.apiRequestDuration.startTimer({ verb });
  try {
    const result = await call();
    metrics.apiRequests.inc({ verb, code: '200' });
    return result;
  } catch (err) {
    metrics.apiRequests.inc({ verb, code: String(statusCode(err)) });
    throw err;
  } finally {
    end();
  }
}
