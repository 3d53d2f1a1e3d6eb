/**
 * The load generator sends only to this machine: a run is a few hundred requests a second at
 * most, aimed at the local cluster's runtime pods (their own 127.x.y.z addresses) or at a
 * runtime started by hand. Aiming it anywhere else is refused before anything is sent; names
 * other than localhost are refused without being resolved.
 */
import { isIPv4 } from 'node:net';

export class TargetError extends Error {
  override name = 'TargetError';
}

/** The target as a URL, or TargetError saying why it is refused. */
export function loopbackTarget(target: string): URL {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new TargetError(`target "${target}": not a URL (e.g. http://127.0.0.1:8080)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TargetError(`target "${target}": only http:// and https:// are supported`);
  }
  // WHATWG URL parsing has already normalised 127.1, 0x7f.0.0.1 and [0:0::1].
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const loopback =
    host === 'localhost' || host === '::1' || (isIPv4(host) && host.split('.')[0] === '127');
  if (!loopback) {
    throw new TargetError(
      `target "${target}": the load generator sends only to loopback (127.0.0.0/8, ::1 or localhost), not to ${host}`,
    );
  }
  return url;
}
