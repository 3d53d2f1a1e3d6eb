/**
 * Helpers for end-to-end tests against the real runtime process (runtime-process.ts): typed
 * generation calls, PNG decoding, /metrics scrapes, probe polling and /proc readings.
 * Nothing here fakes the runtime; it only reads what the process answers.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { decode, type DecodedPng } from 'fast-png';
import { runtimePaths } from '../../src/contract/runtime.ts';
import {
  parseTextFormat,
  type TextMetrics,
  type TextSample,
} from '../../src/formats/prometheus-text.ts';
import type { RuntimeProcess } from '../../dev/runtime-process.ts';
import type { ErrorBody } from './runtime-app.ts';

export type { ErrorBody } from './runtime-app.ts';

export { fakePipelineEnv } from '../../dev/runtime-process.ts';

/** The 8 bytes every PNG starts with. */
export const pngSignature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export interface ImagesBody {
  created: number;
  data: { b64_json: string; seed: number }[];
  seed: number;
  steps: number;
  size: string;
  timings: {
    queue_ms: number;
    generation_ms: number;
    images: {
      encode_ms: number;
      denoise_ms: number;
      decode_ms: number;
      total_ms: number;
      session_create_ms: number;
    }[];
  };
}

export interface Answer<T> {
  status: number;
  headers: Headers;
  body: T;
  /** Wall time of the whole exchange, in ms. */
  ms: number;
}

/** POST a generation and read the JSON answer (an empty body reads as undefined). */
export async function generate<T = ImagesBody>(
  rt: RuntimeProcess,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  const started = performance.now();
  const res = await rt.post(runtimePaths.generate, body, headers);
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: (text ? JSON.parse(text) : undefined) as T,
    ms: performance.now() - started,
  };
}

/** A generation that must succeed; fails with the error body otherwise. */
export async function generateOk(rt: RuntimeProcess, body: unknown): Promise<Answer<ImagesBody>> {
  const answer = await generate(rt, body);
  if (answer.status !== 200) {
    throw new Error(`expected 200, got ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  return answer;
}

export function pngBytes(b64: string | undefined): Buffer {
  if (b64 === undefined) throw new Error('no image in the response');
  return Buffer.from(b64, 'base64');
}

export function decodePng(b64: string | undefined): DecodedPng {
  return decode(pngBytes(b64));
}

export interface ReadyBody {
  status: string;
  engine?: {
    ep: string;
    attention: string;
    offload: string;
    steps: number;
    transformerVariant: string;
    transformerGraphRewrites?: string[];
    attentionKernel: string;
    resident: string[];
    componentProviders: Record<string, string>;
  };
  startup?: { sessionsSeconds: number; generationSeconds: number };
  queue: { queued: number; running: number };
}

export async function readyz(rt: RuntimeProcess): Promise<Answer<ReadyBody>> {
  const started = performance.now();
  const res = await rt.get(runtimePaths.readyz);
  const body = (await res.json()) as ReadyBody;
  return { status: res.status, headers: res.headers, body, ms: performance.now() - started };
}

/** Poll /readyz until `check` holds (e.g. a request is running), or fail with the last body. */
export async function untilReadyz(
  rt: RuntimeProcess,
  what: string,
  check: (answer: Answer<ReadyBody>) => boolean,
  timeoutMs = 10_000,
): Promise<Answer<ReadyBody>> {
  const deadline = performance.now() + timeoutMs;
  let last: Answer<ReadyBody> | undefined;
  while (performance.now() < deadline) {
    last = await readyz(rt);
    if (check(last)) return last;
    await sleep(10);
  }
  throw new Error(`/readyz never showed ${what}; last: ${JSON.stringify(last?.body)}`);
}

export class Metrics {
  readonly samples: TextMetrics;
  constructor(samples: TextMetrics) {
    this.samples = samples;
  }

  /** Every sample of `name` whose labels include `labels`. */
  all(name: string, labels: Record<string, string> = {}): TextSample[] {
    return (this.samples.get(name) ?? []).filter((s) =>
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
  }

  /** `name`'s values keyed by one label, e.g. zimage_requests_total by code: {"200": 3}. */
  byLabel(name: string, label: string): Record<string, number> {
    return Object.fromEntries(this.all(name).map((s) => [s.labels[label] ?? '', s.value]));
  }

  /** The one value of `name` with `labels`; 0 when the series does not exist (an unset counter). */
  value(name: string, labels: Record<string, string> = {}): number {
    const found = this.all(name, labels);
    if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: several series`);
    return found[0]?.value ?? 0;
  }
}

export async function scrape(rt: RuntimeProcess): Promise<Metrics> {
  const res = await rt.get(runtimePaths.metrics);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return new Metrics(parseTextFormat(await res.text()));
}

/** Memory figures of a live process from /proc/<pid>/status, in bytes (VmPeak, VmSize, ...). */
export function procMemory(pid: number): Record<string, number> {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const out: Record<string, number> = {};
  for (const [, key = '', kib = '0'] of status.matchAll(/^(Vm\w+):\s+(\d+) kB$/gm)) {
    out[key] = Number(kib) * 1024;
  }
  return out;
}

/** The p-th percentile (0..100) of `values`, nearest-rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? Number.NaN;
}

export function isErrorBody(body: unknown): body is ErrorBody {
  return typeof body === 'object' && body !== null && 'error' in body;
}
