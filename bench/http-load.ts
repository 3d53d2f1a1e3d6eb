/**
 * The router benchmark's client (bench/router.ts): timed single-image requests over undici's
 * keep-alive pool, interleaved rounds over several targets for latency and a closed loop of N
 * workers for throughput.
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

/** Per target name, its timings, in round order. */
export type Rounds = Record<string, number[]>;

/**
 * `rounds` rounds of one request to each target, one at a time, the order rotated each round
 * (A B, B A for two; A B C, B C A, C A B for three), so that a noisy moment on the shared
 * machine, or a request's effect on the next one, falls on every side alike; `warmup` rounds
 * first, not kept.
 */
export async function interleaved(
  targets: readonly Target[],
  body: (i: number) => string,
  counts: { warmup: number; rounds: number },
): Promise<Rounds> {
  const out: Rounds = Object.fromEntries(targets.map((t) => [t.name, []]));
  for (let i = -counts.warmup; i < counts.rounds; i++) {
    const text = body(i);
    const shift = ((i % targets.length) + targets.length) % targets.length;
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(shift + k) % targets.length]!;
      const ms = await timedPost(t, text);
      if (i >= 0) out[t.name]!.push(ms);
    }
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
