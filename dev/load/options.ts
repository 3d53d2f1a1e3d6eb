/**
 * The options of a load run, validated with zod at the door (the CLI, tests, the demo and the
 * benchmarks all come through here), with hard caps on count, time and concurrency.
 */
import { z } from 'zod';
import type { Clock } from '../../src/contract/clock.ts';
import type { LoadProgress } from './progress.ts';
import { parseSize } from '../../src/contract/size.ts';
import { scheduleSchema } from './schedule.ts';
import type { ListBackends } from './spread.ts';
import type { LoadRecord } from './summary.ts';

/** Hard caps: no option goes past these. */
export const hardCaps = {
  requests: 100_000,
  durationSeconds: 3_600,
  inFlight: 10_000,
} as const;

/** A namespace and a Service name (RFC 1123 / RFC 1035 labels): `NAMESPACE/NAME`. */
const serviceRef = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/,
    'must be NAMESPACE/NAME, e.g. fleet/turbo-pods',
  );

/** `NAMESPACE/NAME` as its two parts (the schema has checked it). */
export function parseServiceRef(ref: string): { namespace: string; name: string } {
  const [namespace = '', name = ''] = ref.split('/');
  return { namespace, name };
}

export const loadOptionsSchema = z
  .object({
    /** Base URL of a runtime or of a Service in the local cluster; loopback only. */
    target: z.string().min(1).optional(),
    /**
     * Or a Service, `NAMESPACE/NAME`, spread as kube-proxy would (spread.ts): each request to
     * one of its Ready backends at random, each of them on loopback. Needs the `backends` hook.
     */
    service: serviceRef.optional(),
    /** How often the Service's backends are listed again. Default 1000 ms. */
    serviceRefreshMs: z.number().int().min(100).max(60_000).default(1_000),
    schedule: scheduleSchema,
    /** Body fields of every request; a trace row's size, steps and n win. */
    request: z
      .object({
        /** Default: a fixed landscape prompt. */
        prompt: z.string().min(1).max(4_000).optional(),
        size: z
          .string()
          .refine((s) => parseSize(s) !== undefined, 'must be WIDTHxHEIGHT, e.g. 512x512')
          .optional(),
        steps: z.number().int().min(1).max(50).optional(),
        n: z.number().int().min(1).max(16).optional(),
        /** Request i gets seed + i (mod 2^32), so a run is reproducible. Default: the server's. */
        seed: z
          .number()
          .int()
          .min(0)
          .max(2 ** 32 - 1)
          .optional(),
      })
      .strict()
      .default({}),
    /** Refuse a schedule with more requests. Default 1000. */
    maxRequests: z.number().int().min(1).max(hardCaps.requests).default(1_000),
    /** The whole run, schedule and drain: then outstanding requests are abandoned. Default 600. */
    maxDurationSeconds: z.number().positive().max(hardCaps.durationSeconds).default(600),
    /**
     * Requests outstanding at once; an arrival beyond it is recorded as skipped, not delayed
     * (delaying it would close the loop). Default 1000: far beyond a runtime's queue.
     */
    maxInFlight: z.number().int().min(1).max(hardCaps.inFlight).default(1_000),
    /** Client-side deadline per request. Default 300 s (the runtime's own is 120 s). */
    requestTimeoutSeconds: z.number().positive().max(hardCaps.durationSeconds).default(300),
    /** The summary's "served in time" bound. Default 15 s (the slow-generation rule's). */
    latencyBoundSeconds: z.number().positive().default(15),
    /** NDJSON file of one LoadRecord per request, written as answers come. Default: none. */
    recordPath: z.string().min(1).optional(),
    /** Bearer token (ZIMAGE_API_TOKEN of the runtime). */
    token: z.string().min(1).optional(),
    /** How often onProgress is called. Default 250 ms. */
    progressIntervalMs: z.number().int().min(10).default(250),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.target !== undefined && o.service !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['service'],
        message: 'give a target or a service, not both',
      });
    if (o.target === undefined && o.service === undefined)
      ctx.addIssue({ code: 'custom', path: ['target'], message: 'required (or a service)' });
  });

export type LoadSettings = z.output<typeof loadOptionsSchema>;

/** What runLoad takes: the data above plus the hooks that are not data. */
export type LoadOptions = z.input<typeof loadOptionsSchema> & {
  onProgress?: (progress: LoadProgress, final: boolean) => void;
  onRecord?: (record: LoadRecord) => void;
  /** With `service`: its Ready backends now (dev/fleet/service.ts serviceBackends). */
  backends?: ListBackends;
  /** With `service`: uniform in [0, 1), which backend a request goes to. Default Math.random. */
  random?: () => number;
  /** Aborting ends the run as the duration cap does (Ctrl-C in the CLI). */
  signal?: AbortSignal;
  /** Tests: a fake clock and HTTP client. Default: ref'd real timers and Node's fetch. */
  clock?: Clock;
  fetch?: typeof fetch;
};

/** Bad options: every issue with its path (`schedule.rate: ...`). */
export class LoadOptionsError extends Error {
  override name = 'LoadOptionsError';
  readonly issues: { path: string; message: string }[];
  constructor(issues: { path: string; message: string }[], options?: ErrorOptions) {
    const lines = issues.map((i) => `${i.path}: ${i.message}`);
    super(`invalid load options:\n  ${lines.join('\n  ')}`, options);
    this.issues = issues;
  }
}

export function parseLoadOptions(options: LoadOptions): LoadSettings {
  const {
    onProgress: _p,
    onRecord: _r,
    backends: _b,
    random: _n,
    signal: _s,
    clock: _c,
    fetch: _f,
    ...data
  } = options;
  const parsed = loadOptionsSchema.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new LoadOptionsError(
    parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(options)', message: i.message })),
  );
}
