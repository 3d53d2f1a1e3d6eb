/**
 * The router benchmark's client (bench/router.ts): timed single-image requests over undici's
 * keep-alive pool, A/B pairs for latency and a closed loop of N workers for throughput.
 * Every answer is read to its last byte and dropped (no concatenation, no JSON parse), the
 * same for both sides of a comparison.
 */
import { Agent, request } from 'undici';
import { runtimePaths } from '../src/contract/runtime.ts';

export interface Target {
  name: string;
  url: string;
  agent: Agent;
}

export function target(name: string, url: string, connections = 1): Target {
  return { name, url, agent: new Agent({ connections, keepAliveTimeout: 60_000 }) };
}

/** Wall ms of one POST until its body has been read; throws on anything but 200. */
export async function timedPost(t: Target, body: string): Promise<number> {
  const started = performance.now();
  const res = await request(`${t.url}${runtimePaths.generate}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    dispatcher: t.agent,
  });
  let bytes = 0;
  for await (const chunk of res.body) bytes += (chunk as Buffer).length;
  const ms = performance.now() - started;
  if (res.statusCode !== 200) throw new Error(`${t.name}: HTTP ${res.statusCode} (${bytes} bytes)`);
  return ms;
}

export interface Pairs {
  a: number[];
  b: number[];
}

/**
 * `pairs` requests to each of a and b, one at a time, alternating which goes first (ABBA...),
 * so that a noisy moment on the shared machine, or a request's effect on the next one, falls
 * on both sides alike; `warmup` pairs first, not kept.
 */
export async function abPairs(
  a: Target,
  b: Target,
  body: (i: number) => string,
  counts: { warmup: number; pairs: number },
): Promise<Pairs> {
  const out: Pairs = { a: [], b: [] };
  for (let i = -counts.warmup; i < counts.pairs; i++) {
    const text = body(i);
    let msA: number;
    let msB: number;
    if (i % 2 === 0) {
      msA = await timedPost(a, text);
      msB = await timedPost(b, text);
    } else {
      msB = await timedPost(b, text);
      msA = await timedPost(a, text);
    }
    if (i < 0) continue;
    out.a.push(msA);
    out.b.push(msB);
  }
  return out;
}

/** `concurrency` workers, each sending its next request when the last is answered, for `ms`. */
export async function closedLoop(
  t: Target,
  body: (i: number) => string,
  concurrency: number,
  ms: number,
): Promise<{ requests: number; wallMs: number }> {
  const started = performance.now();
  const end = started + ms;
  let requests = 0;
  const worker = async () => {
    while (performance.now() < end) {
      await timedPost(t, body(requests));
      requests++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { requests, wallMs: performance.now() - started };
}

/** Nearest-rank percentile, p in [0, 1]. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.max(0, Math.ceil(p * s.length) - 1)] ?? NaN;
}
