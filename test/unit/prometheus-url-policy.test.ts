/**
 * Which spec Prometheus URLs the operator queries (signals/prometheus/url-policy.ts): one table
 * of URLs under three operator settings, with the reason a refusal gives; then the source
 * under the policy, against a local HTTP server that counts what reaches it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PrometheusSource } from '../../src/operator/signals/prometheus/source.ts';
import {
  defaultUrlPolicy,
  judgeUrl,
  parsePrefix,
  refusalMessage,
  urlPolicyOf,
  type PrometheusUrlPolicy,
} from '../../src/operator/signals/prometheus/url-policy.ts';
import { localServer, vector, type LocalServer } from '../support/signal-bodies.ts';

const localCluster = urlPolicyOf([], true);
const allowList = urlPolicyOf(
  ['http://allowed.example.com', 'https://thanos.example.com:8443/prom/', 'http://127.0.0.1:9090'],
  false,
);

interface Row {
  name: string;
  url: string;
  policy: PrometheusUrlPolicy;
  /** undefined: queried; else a fragment of why it is refused. */
  refused?: RegExp;
}

const rows: Row[] = [
  { name: 'a cluster Service', url: 'http://prometheus.monitoring:9090', policy: defaultUrlPolicy },
  { name: 'a private address', url: 'http://10.0.3.7:9090/', policy: defaultUrlPolicy },
  {
    name: 'the metadata address',
    url: 'http://169.254.169.254/latest/meta-data',
    policy: defaultUrlPolicy,
    refused: /169\.254\.169\.254 is a link-local or cloud metadata address/,
  },
  {
    name: 'link-local v4 with a trailing root dot',
    url: 'http://169.254.1.1./',
    policy: defaultUrlPolicy,
    refused: /link-local/,
  },
  {
    name: 'link-local v4 as one decimal number (URL parsing normalises it)',
    url: 'http://2852039166/',
    policy: defaultUrlPolicy,
    refused: /169\.254\.169\.254 is a link-local/,
  },
  {
    name: 'link-local v4 mapped into v6',
    url: 'http://[::ffff:169.254.169.254]/',
    policy: defaultUrlPolicy,
    refused: /link-local/,
  },
  {
    name: 'link-local v6',
    url: 'http://[fe80::1]:9090/',
    policy: defaultUrlPolicy,
    refused: /link-local/,
  },
  {
    name: 'link-local v6, top of fe80::/10',
    url: 'http://[febf::1]/',
    policy: defaultUrlPolicy,
    refused: /link-local/,
  },
  { name: 'just above fe80::/10', url: 'http://[fec0::1]/', policy: defaultUrlPolicy },
  {
    name: "AWS's v6 metadata address",
    url: 'http://[fd00:ec2::254]/',
    policy: defaultUrlPolicy,
    refused: /metadata/,
  },
  {
    name: "GCP's metadata name",
    url: 'http://metadata.google.internal/computeMetadata/v1/',
    policy: defaultUrlPolicy,
    refused: /metadata\.google\.internal is a link-local or cloud metadata address/,
  },
  {
    name: 'link-local even where loopback is allowed',
    url: 'http://169.254.169.254/',
    policy: localCluster,
    refused: /link-local/,
  },
  {
    name: 'loopback v4',
    url: 'http://127.0.0.1:15000/',
    policy: defaultUrlPolicy,
    refused: /127\.0\.0\.1 is loopback.*--prometheus-url-allow-loopback=true/,
  },
  {
    name: 'loopback, anywhere in 127/8, as hex',
    url: 'http://0x7f.1:9090/',
    policy: defaultUrlPolicy,
    refused: /loopback/,
  },
  { name: 'loopback v6', url: 'http://[::1]:9090/', policy: defaultUrlPolicy, refused: /loopback/ },
  {
    name: 'loopback mapped into v6',
    url: 'http://[::ffff:127.0.0.1]/',
    policy: defaultUrlPolicy,
    refused: /loopback/,
  },
  {
    name: '0.0.0.0 (the local host on Linux)',
    url: 'http://0.0.0.0:9090/',
    policy: defaultUrlPolicy,
    refused: /loopback/,
  },
  {
    name: 'localhost',
    url: 'http://LOCALHOST.:9090/',
    policy: defaultUrlPolicy,
    refused: /localhost is loopback/,
  },
  {
    name: 'a .localhost name',
    url: 'http://prom.localhost/',
    policy: defaultUrlPolicy,
    refused: /loopback/,
  },
  {
    name: 'loopback on the local dev cluster',
    url: 'http://127.0.0.1:41234',
    policy: localCluster,
  },
  {
    name: 'credentials in the URL',
    url: 'http://admin:secret@prometheus:9090/',
    policy: defaultUrlPolicy,
    refused: /carries credentials/,
  },
  {
    name: 'a query that would carry the appended path away from the path',
    url: 'http://prometheus:9090/-/quit?',
    policy: defaultUrlPolicy,
    refused: /no query \(\?\) or fragment/,
  },
  {
    name: 'a fragment',
    url: 'http://prometheus:9090/x#',
    policy: defaultUrlPolicy,
    refused: /fragment/,
  },
  {
    name: 'not http',
    url: 'file:///etc/passwd',
    policy: defaultUrlPolicy,
    refused: /only http and https/,
  },
  // The allow list: parsed URLs, compared by origin and whole path segments.
  { name: 'an allowed origin', url: 'http://allowed.example.com:80/', policy: allowList },
  {
    name: 'an allowed origin, a path below it',
    url: 'http://Allowed.Example.com/sub',
    policy: allowList,
  },
  {
    name: 'an allowed host as the prefix of another name',
    url: 'http://allowed.example.com.evil.com/',
    policy: allowList,
    refused: /not under the operator's --prometheus-url-allow \(http:\/\/allowed\.example\.com\/, /,
  },
  {
    name: 'an allowed host as userinfo before another',
    url: 'http://allowed.example.com@evil.com/',
    policy: allowList,
    refused: /credentials/,
  },
  {
    name: 'another port of an allowed host',
    url: 'http://allowed.example.com:9090/',
    policy: allowList,
    refused: /not under/,
  },
  {
    name: 'another scheme of an allowed host',
    url: 'https://allowed.example.com/',
    policy: allowList,
    refused: /not under/,
  },
  {
    name: 'under an allowed path',
    url: 'https://thanos.example.com:8443/prom/tenant-a',
    policy: allowList,
  },
  {
    name: 'the allowed path itself',
    url: 'https://thanos.example.com:8443/prom',
    policy: allowList,
    refused: /not under/,
  },
  {
    name: 'a path that only starts with the allowed one',
    url: 'https://thanos.example.com:8443/prometheus-admin/',
    policy: allowList,
    refused: /not under/,
  },
  {
    name: 'dot segments climbing out of the allowed path',
    url: 'https://thanos.example.com:8443/prom/../admin',
    policy: allowList,
    refused: /not under/,
  },
  {
    name: 'encoded dot segments too',
    url: 'https://thanos.example.com:8443/prom/%2e%2e/admin',
    policy: allowList,
    refused: /not under/,
  },
  { name: 'a loopback prefix the admin named', url: 'http://127.0.0.1:9090/', policy: allowList },
  {
    name: 'loopback on another port than the named one',
    url: 'http://127.0.0.1:15000/',
    policy: allowList,
    refused: /not under/,
  },
];

describe('Prometheus URL policy', () => {
  it.each(rows)('$name: $url', ({ url, policy, refused }) => {
    const verdict = judgeUrl(url, policy);
    if (!refused) expect(verdict).toEqual({ ok: true });
    else {
      expect(verdict.ok).toBe(false);
      expect(!verdict.ok && verdict.why).toMatch(refused);
    }
  });

  it('names the field and masks credentials in the message for status', () => {
    const url = 'http://admin:secret@prometheus:9090/';
    const verdict = judgeUrl(url, defaultUrlPolicy);
    const message = refusalMessage(url, verdict.ok ? '' : verdict.why);
    expect(message).toBe(
      'spec.autoscaling.metrics.prometheus.url "http://***@prometheus:9090/" is refused: it carries credentials (user@), which are never sent',
    );
    expect(message).not.toContain('secret');
  });

  it.each([
    ['http://prometheus.monitoring:9090', true],
    ['https://thanos.example.com/prom/', true],
    ['prometheus:9090', false],
    ['ftp://prometheus/', false],
    ['http://u:p@prometheus/', false],
    ['http://prometheus/?tenant=a', false],
  ])('--prometheus-url-allow prefix %s valid: %s', (text, valid) => {
    expect(typeof parsePrefix(text) !== 'string').toBe(valid);
  });
});

describe('Prometheus source under the policy', () => {
  const servers: LocalServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const prometheus = async (answer: Parameters<typeof localServer>[0]) => {
    const server = await localServer(answer);
    servers.push(server);
    return server;
  };
  const turbo = (url: string) => ({
    namespace: 'ml',
    name: 'turbo',
    prometheusUrl: url,
    pods: [{ namespace: 'ml', name: 'turbo-0', ip: '10.0.0.1', port: 8080 }],
  });

  it('a refused URL is never queried; its object says which field and why', async () => {
    const server = await prometheus((_req, _body, res) => res.end(vector([])));
    // The server listens on loopback, which the default policy refuses.
    const source = new PrometheusSource({ urlPolicy: defaultUrlPolicy });
    const sample = await source.sample([turbo(server.url)], 0);
    expect([server.requests, sample.requests]).toEqual([0, 0]);
    for (const reading of Object.values(sample.byKey.get('ml/turbo')!)) {
      expect(reading).toEqual({
        ok: false,
        reason: 'NotConfigured',
        message: `spec.autoscaling.metrics.prometheus.url "${server.url}" is refused: 127.0.0.1 is loopback, the operator's own pod; it is allowed only with --prometheus-url-allow-loopback=true (the local dev cluster)`,
      });
    }
  });
});
