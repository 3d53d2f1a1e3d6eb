/**
 * `npm run load -- --service NAMESPACE/NAME`: the flags (args.ts, no process started), and the
 * kube-proxy-like spread (spread.ts through runLoad) on a fake clock, with a fake backend list
 * at the API boundary and a fake HTTP client.
 */
import { describe, expect, it } from 'vitest';
import { parseLoadArgs, type ArgsContext } from '../../dev/load/args.ts';
import { LoadOptionsError } from '../../dev/load/options.ts';
import { runLoad } from '../../dev/load/run.ts';
import type { ServiceBackend } from '../../dev/load/spread.ts';
import type { LoadRecord } from '../../dev/load/summary.ts';
import { TargetError } from '../../dev/load/target.ts';
import { FakeClock, settle } from '../support/fake-clock.ts';

const running: ArgsContext = {
  env: {},
  runningKubeconfig: () => '/cache/clusters/local/kubeconfig',
};
const none: ArgsContext = { env: {}, runningKubeconfig: () => undefined };
const schedule = ['--rate', '1', '--duration', '1'];

describe('--service and --kubeconfig', () => {
  it("aims at a Service with the running local cluster's kubeconfig by default", () => {
    const parsed = parseLoadArgs(['--service', 'fleet/turbo-pods', ...schedule], running);
    expect(parsed).toMatchObject({
      kind: 'run',
      options: { service: 'fleet/turbo-pods' },
      service: {
        namespace: 'fleet',
        name: 'turbo-pods',
        kubeconfig: '/cache/clusters/local/kubeconfig',
      },
    });
    expect(parsed.kind === 'run' && parsed.options.target).toBeUndefined();
  });

  it("takes --kubeconfig over the running cluster's", () => {
    const argv = ['--service', 'ml/turbo', '--kubeconfig', '/tmp/kc', ...schedule];
    expect(parseLoadArgs(argv, running)).toMatchObject({ service: { kubeconfig: '/tmp/kc' } });
    expect(parseLoadArgs(argv, none)).toMatchObject({ service: { kubeconfig: '/tmp/kc' } });
  });

  it('leaves --target runs as they were', () => {
    const parsed = parseLoadArgs(['--target', 'http://127.0.0.1:8080', ...schedule], none);
    expect(parsed).toMatchObject({ kind: 'run', options: { target: 'http://127.0.0.1:8080' } });
    expect(parsed.kind === 'run' && parsed.service).toBeUndefined();
  });

  it.each([
    [
      'both --target and --service',
      ['--target', 'http://127.0.0.1:8080', '--service', 'fleet/turbo'],
      running,
      /^ {2}--service: give a target or a service, not both$/,
    ],
    ['neither', [], running, /^ {2}--target: required \(or a service\)$/],
    ['no namespace', ['--service', 'turbo'], running, /^ {2}--service: must be NAMESPACE\/NAME/],
    ['upper case', ['--service', 'Fleet/turbo'], running, /^ {2}--service: must be/],
    ['a third part', ['--service', 'a/b/c'], running, /^ {2}--service: must be/],
    ['a name from a digit', ['--service', 'fleet/1turbo'], running, /^ {2}--service: must be/],
    [
      'a label past 63 characters',
      ['--service', `fleet/${'a'.repeat(64)}`],
      running,
      /^ {2}--service: must be/,
    ],
    [
      '--kubeconfig without --service',
      ['--target', 'http://127.0.0.1:8080', '--kubeconfig', '/tmp/kc'],
      running,
      /^ {2}--kubeconfig: only with --service/,
    ],
    [
      '--service without a kubeconfig or a running cluster',
      ['--service', 'fleet/turbo'],
      none,
      /^ {2}--kubeconfig: no local cluster is running \(npm run cluster:up\)/,
    ],
  ])('refuses %s, naming the flag', (_name, argv, ctx, line) => {
    const parsed = parseLoadArgs([...argv, ...schedule], ctx);
    expect(parsed.kind).toBe('invalid');
    expect(parsed.kind === 'invalid' && parsed.lines).toEqual([expect.stringMatching(line)]);
  });

  it('still names the flag of any other bad option beside --service', () => {
    const parsed = parseLoadArgs(
      ['--service', 'fleet/turbo', '--rate=-1', '--duration', '1'],
      running,
    );
    expect(parsed).toEqual({ kind: 'invalid', lines: [expect.stringMatching(/^ {2}--rate: /)] });
  });
});

/** A server that answers 200 at once, remembering where each request went. */
function instantServer() {
  const urls: string[] = [];
  const fetch = ((url: URL) => {
    urls.push(url.origin);
    return Promise.resolve(new Response('{}', { status: 200, headers: { 'x-zimage-pod': 'p' } }));
  }) as typeof globalThis.fetch;
  return { urls, fetch };
}

/** A seeded uniform [0, 1) (mulberry32): the same spread every run, no timed assertion. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const backends = (...ips: string[]): ServiceBackend[] =>
  ips.map((ip, i) => ({ url: `http://${ip}:8080`, pod: `turbo-${i}` }));

const count = (urls: readonly string[]) =>
  urls.reduce<Record<string, number>>((m, u) => ({ ...m, [u]: (m[u] ?? 0) + 1 }), {});

describe("the spread over a Service's Ready backends", () => {
  it('sends each request to a backend drawn uniformly at random', async () => {
    const clock = new FakeClock();
    const server = instantServer();
    const done = runLoad({
      service: 'fleet/turbo-pods',
      backends: () => Promise.resolve(backends('127.1.0.1', '127.1.0.2', '127.1.0.3')),
      random: seeded(7),
      clock,
      fetch: server.fetch,
      schedule: { kind: 'constant', rate: 100, durationSeconds: 30 },
      maxRequests: 3_000,
    });
    await clock.advance(31_000);
    const summary = await done;
    expect(summary.target).toBe('service fleet/turbo-pods');
    expect(summary.statuses).toEqual({ '200': 3_000 });
    const counts = count(server.urls);
    expect(Object.keys(counts).sort()).toEqual([
      'http://127.1.0.1:8080',
      'http://127.1.0.2:8080',
      'http://127.1.0.3:8080',
    ]);
    // A third each, within 3.3 points (3 standard deviations of a fair draw at n = 3000 is 2.6).
    for (const n of Object.values(counts)) expect(Math.abs(n / 3_000 - 1 / 3)).toBeLessThan(0.033);
  });

  it('maps the draw onto the list: [0, 1/3) the first, [2/3, 1) the last', async () => {
    const clock = new FakeClock();
    const server = instantServer();
    const draws = [0, 0.34, 0.999, 0.5, 0.0001, 0.7];
    const records: LoadRecord[] = [];
    const done = runLoad({
      service: 'fleet/turbo-pods',
      backends: () => Promise.resolve(backends('127.1.0.1', '127.1.0.2', '127.1.0.3')),
      random: () => draws.shift() ?? 0,
      clock,
      fetch: server.fetch,
      schedule: { kind: 'constant', rate: 6, durationSeconds: 1 },
      onRecord: (r) => records.push(r),
    });
    await clock.advance(1_000);
    await done;
    expect(server.urls).toEqual([1, 2, 3, 2, 1, 3].map((i) => `http://127.1.0.${i}:8080`));
    expect(records.map((r) => r.backend)).toEqual(server.urls);
  });

  it('follows the list as it changes, about every second, and keeps it when a list fails', async () => {
    const clock = new FakeClock();
    const server = instantServer();
    const lists: (ServiceBackend[] | Error)[] = [
      backends('127.1.0.1', '127.1.0.2'),
      // After 1 s: the second pod is no longer Ready, a third one is.
      backends('127.1.0.1', '127.1.0.3'),
      // After 2 s: the API server does not answer; the last list stays.
      new Error('connect ECONNREFUSED'),
    ];
    let listed = 0;
    const done = runLoad({
      service: 'fleet/turbo-pods',
      backends: () => {
        const next = lists[Math.min(listed++, lists.length - 1)]!;
        return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
      },
      random: seeded(3),
      clock,
      fetch: server.fetch,
      schedule: { kind: 'constant', rate: 50, durationSeconds: 4 },
    });
    await clock.advance(999);
    const first = new Set(server.urls);
    expect(first).toEqual(new Set(['http://127.1.0.1:8080', 'http://127.1.0.2:8080']));
    const before = server.urls.length;
    await clock.advance(4_000);
    const summary = await done;
    expect(summary.statuses).toEqual({ '200': 200 });
    const later = new Set(server.urls.slice(before + 1));
    expect(later).toEqual(new Set(['http://127.1.0.1:8080', 'http://127.1.0.3:8080']));
  });

  it('records a request as unanswered while the Service has no Ready backend', async () => {
    const clock = new FakeClock();
    const server = instantServer();
    const done = runLoad({
      service: 'fleet/turbo-pods',
      backends: () => Promise.resolve([]),
      clock,
      fetch: server.fetch,
      schedule: { kind: 'constant', rate: 2, durationSeconds: 1 },
    });
    await clock.advance(1_000);
    const summary = await done;
    expect(summary.statuses).toEqual({ error: 2 });
    expect(server.urls).toEqual([]);
  });

  it('refuses a backend off loopback before anything is sent', async () => {
    const clock = new FakeClock();
    const server = instantServer();
    const run = runLoad({
      service: 'fleet/turbo-pods',
      backends: () => Promise.resolve(backends('127.1.0.1', '10.0.0.7')),
      clock,
      fetch: server.fetch,
      schedule: { kind: 'constant', rate: 2, durationSeconds: 1 },
    });
    await expect(run).rejects.toThrow(TargetError);
    await expect(run).rejects.toThrow(
      /^service fleet\/turbo-pods: backend \(pod turbo-1\) refused: .*not to 10\.0\.0\.7$/,
    );
    expect(server.urls).toEqual([]);
  });

  it('stops the run when a backend off loopback appears, sending nothing to it', async () => {
    const clock = new FakeClock();
    const server = instantServer();
    let listed = 0;
    const run = runLoad({
      service: 'fleet/turbo-pods',
      backends: () =>
        Promise.resolve(
          listed++ === 0 ? backends('127.1.0.1') : backends('127.1.0.1', '192.168.1.20'),
        ),
      clock,
      fetch: server.fetch,
      schedule: { kind: 'constant', rate: 10, durationSeconds: 5 },
    });
    const outcome = run.catch((e: unknown) => e);
    await clock.advance(5_000);
    await settle();
    expect(await outcome).toBeInstanceOf(TargetError);
    expect(server.urls.length).toBe(10);
    expect(new Set(server.urls)).toEqual(new Set(['http://127.1.0.1:8080']));
  });

  it('refuses a Service it cannot list, and a service without the backends hook', async () => {
    const clock = new FakeClock();
    const server = instantServer();
    const unknown = runLoad({
      service: 'fleet/nope',
      backends: () => Promise.reject(new Error('HTTP-Code: 404 services "nope" not found')),
      clock,
      fetch: server.fetch,
      schedule: { kind: 'constant', rate: 1, durationSeconds: 1 },
    });
    await expect(unknown).rejects.toThrow(
      'service fleet/nope: cannot list its backends (HTTP-Code: 404 services "nope" not found)',
    );
    const hookless = runLoad({
      service: 'fleet/turbo',
      clock,
      fetch: server.fetch,
      schedule: { kind: 'constant', rate: 1, durationSeconds: 1 },
    });
    await expect(hookless).rejects.toBeInstanceOf(LoadOptionsError);
    expect(server.urls).toEqual([]);
  });
});
