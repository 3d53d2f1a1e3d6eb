/**
 * Which Prometheus URLs the operator will query for a spec (spec.autoscaling.metrics.prometheus.url).
 * Whoever may create a ZImageDeployment picks the URL, and the operator queries it from its own
 * network position and puts what went wrong into status: without a policy that is a request
 * to the cloud metadata service (169.254.169.254) or to a sidecar's admin port on the
 * operator's loopback, on a namespace user's behalf. Pure: no DNS, no clock.
 *
 * Refused by default: loopback (127.0.0.0/8, ::1, 0.0.0.0, localhost) unless the operator runs
 * with --prometheus-url-allow-loopback (the local dev cluster, whose Prometheus is on
 * 127.0.0.1), and link-local (169.254.0.0/16, fe80::/10, the metadata services' names) always,
 * unless an allowed prefix names that very host. With --prometheus-url-allow set, a URL must
 * also start with one of its prefixes, compared as parsed URLs (scheme, host, port, whole path
 * segments), so `http://allowed.example.com.evil.com` and `http://allowed.example.com@evil`
 * never pass for `http://allowed.example.com`.
 *
 * Literal addresses and the names above only: a DNS name that resolves to a link-local address
 * passes unless --prometheus-url-allow is set, which is what production installs should do.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export interface PrometheusUrlPolicy {
  /** Allowed URL prefixes (parsed with parsePrefix); empty: any URL not refused by address. */
  allow: readonly URL[];
  /** Loopback addresses allowed (--prometheus-url-allow-loopback; the local dev cluster). */
  allowLoopback: boolean;
}

export type UrlVerdict = { ok: true } | { ok: false; why: string };

/** The policy when the operator gets no flag: no prefix list, no loopback. */
export const defaultUrlPolicy: PrometheusUrlPolicy = { allow: [], allowLoopback: false };

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
// 0.0.0.0 and :: reach the local host on Linux.
loopback.addSubnet('0.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');
loopback.addAddress('::', 'ipv6');

/** Link-local, where the cloud metadata services answer (169.254.169.254), and AWS's IPv6 one. */
const linkLocal = new BlockList();
linkLocal.addSubnet('169.254.0.0', 16, 'ipv4');
linkLocal.addSubnet('fe80::', 10, 'ipv6');
linkLocal.addAddress('fd00:ec2::254', 'ipv6');

/** The metadata services by name (GCP, AWS). */
const metadataNames = new Set([
  'metadata',
  'metadata.google.internal',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** The host as URL parsing left it, without IPv6 brackets or a trailing root dot. */
const bareHost = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');

/** Why an address is refused by default, or undefined. BlockList also matches ::ffff:a.b.c.d. */
function addressClass(host: string): 'loopback' | 'link-local' | undefined {
  const type = isIPv4(host) ? 'ipv4' : isIPv6(host) ? 'ipv6' : undefined;
  if (type) {
    if (loopback.check(host, type)) return 'loopback';
    if (linkLocal.check(host, type)) return 'link-local';
    return undefined;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback';
  if (metadataNames.has(host)) return 'link-local';
  return undefined;
}

/** A URL with its credentials masked, for messages: status is no place for a password. */
export function shownUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (!url.username && !url.password) return raw;
    url.username = '***';
    url.password = '';
    return url.href;
  } catch {
    return raw;
  }
}

/** Whether `url` lies under `prefix`: same origin, and the prefix's path as whole segments. */
function under(url: URL, prefix: URL): boolean {
  if (url.protocol !== prefix.protocol || url.host !== prefix.host) return false;
  const base = prefix.pathname.endsWith('/') ? prefix.pathname : `${prefix.pathname}/`;
  return url.pathname === prefix.pathname || url.pathname.startsWith(base);
}

/**
 * One prefix of --prometheus-url-allow: an http(s) URL with a host and nothing after the path.
 * Returns the parsed URL or why it cannot be one.
 */
export function parsePrefix(text: string): URL | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `"${text}" is not http(s)`;
  if (url.username || url.password || /[?#]/.test(url.href) || !url.hostname) {
    return `"${text}" must be scheme://host[:port][/path], without credentials, query or fragment`;
  }
  return url;
}

function refuseShape(url: URL): string | undefined {
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return 'only http and https are queried';
  // fetch refuses such URLs anyway; said here so the reason is the real one.
  if (url.username || url.password) return 'it carries credentials (user@), which are never sent';
  // The operator appends /api/v1/query: after a ? or # (even an empty one: url.search is then
  // '') that would not be the path it asks.
  if (/[?#]/.test(url.href)) {
    return 'a base URL takes no query (?) or fragment (#): the operator appends /api/v1/query to it';
  }
  return undefined;
}

/** The verdict on a spec's Prometheus URL; `why` names the rule and the way out. */
export function judgeUrl(raw: string, policy: PrometheusUrlPolicy): UrlVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, why: 'it is not a URL' };
  }
  const shape = refuseShape(url);
  if (shape) return { ok: false, why: shape };
  const named = policy.allow.find((p) => under(url, p));
  if (policy.allow.length > 0 && !named) {
    const list = policy.allow.map((p) => p.href).join(', ');
    return { ok: false, why: `it is not under the operator's --prometheus-url-allow (${list})` };
  }
  const host = bareHost(url);
  const kind = addressClass(host);
  // A prefix that names the host is the admin's explicit choice, loopback or not.
  if (!kind || (named && bareHost(named) === host)) return { ok: true };
  if (kind === 'link-local') {
    return {
      ok: false,
      why: `${host} is a link-local or cloud metadata address, never a Prometheus`,
    };
  }
  if (policy.allowLoopback) return { ok: true };
  return {
    ok: false,
    why: `${host} is loopback, the operator's own pod; it is allowed only with --prometheus-url-allow-loopback=true (the local dev cluster)`,
  };
}

/** The whole message for status: the field, the URL (credentials masked) and why. */
export function refusalMessage(raw: string, why: string): string {
  return `spec.autoscaling.metrics.prometheus.url "${shownUrl(raw)}" is refused: ${why}`;
}

/** The policy of the operator's flags (prefixes already checked by the config's schema). */
export function urlPolicyOf(allow: readonly string[], allowLoopback: boolean): PrometheusUrlPolicy {
  return {
    allow: allow.map((text) => {
      const prefix = parsePrefix(text);
      if (typeof prefix === 'string') throw new Error(`--prometheus-url-allow: ${prefix}`);
      return prefix;
    }),
    allowLoopback,
  };
}
