/**
 * Router start-up configuration, from environment variables (the operator renders them into
 * the router's pod template). The request limits and the deadline are the runtime's own
 * variables with the runtime's defaults, so a request the router admits is one its pods accept.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { authEnv, defaultTokenGraceSeconds } from '../contract/auth.ts';
import { defaultPodStartSeconds, routerEnv } from '../contract/router.ts';
import { imagesPerRequestRange, runtimeEnv, runtimePort, stepsRange } from '../contract/runtime.ts';
import { ConfigError } from '../contract/startup.ts';
import { sizeSetting } from '../image-api/size.ts';
import { tokenSetting, type TokenSetting } from '../image-api/token-settings.ts';

export { routerEnv };

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const size = sizeSetting;

export const routerConfigSchema = z
  .object({
    /** Namespace of the pods (downward API). Required with podSelector. */
    namespace: z.string().min(1).optional(),
    /** E.g. app.kubernetes.io/name=zimage-runtime,app.kubernetes.io/instance=turbo. */
    podSelector: z.string().min(1).optional(),
    staticPods: z
      .string()
      .transform((text, ctx) => {
        const urls = text
          .split(',')
          .map((u) => u.trim())
          .filter((u) => u !== '');
        for (const u of urls) {
          if (!URL.canParse(u) || !/^https?:$/.test(new URL(u).protocol)) {
            ctx.addIssue({ code: 'custom', message: `"${u}" is not an http(s) URL` });
          }
        }
        return urls.map((u) => u.replace(/\/+$/, ''));
      })
      .optional(),
    /** Default 8080. */
    port: int(0, 65_535).default(runtimePort),
    /** Default 0.0.0.0. */
    host: z.string().min(1).default('0.0.0.0'),
    /** Default 64: 8 requests of 8 images, ~80 s of H100 work spread over a few pods. */
    maxQueue: int(0, 100_000).default(64),
    /** Default 1: a pod's own queue never holds this router's work, so nothing waits behind a busy pod. */
    slots: int(1, 64).default(1),
    /** Default 103: the card model's H100 start (weights at 200 MB/s + one warm-up image). */
    podStartSeconds: int(1, 3_600).default(defaultPodStartSeconds),
    /** The runtime's limits and deadline (same variables, same defaults). */
    maxResolution: size.default({ width: 1024, height: 1024 }),
    maxImagesPerRequest: int(imagesPerRequestRange.min, imagesPerRequestRange.max).default(
      imagesPerRequestRange.default,
    ),
    requestTimeoutSeconds: int(1, 3_600).default(120),
    steps: int(stepsRange.min, stepsRange.max).default(stepsRange.default),
    bodyLimitBytes: int(1_024, 16 * 1024 * 1024).default(64 * 1024),
    /** Seconds a token replaced in a token file still counts (accepted, retried). Default 120. */
    tokenGraceSeconds: int(0, 3_600).default(defaultTokenGraceSeconds),
    /** Default: request timeout + 5 (in-flight requests may run their whole deadline). */
    shutdownGraceSeconds: int(1, 3_600).optional(),
    logLevel: z
      .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
      .default('info'),
  })
  .strict()
  .refine((c) => (c.podSelector === undefined) !== (c.staticPods === undefined), {
    path: ['podSelector'],
    error: `set this (with ${runtimeEnv.namespace}) or ${routerEnv.staticPods}, one of them`,
  })
  .refine((c) => c.podSelector === undefined || c.namespace !== undefined, {
    path: ['namespace'],
    error: 'is required with a pod selector (the namespace of the runtime pods)',
  });

export type RouterConfig = Omit<z.output<typeof routerConfigSchema>, 'shutdownGraceSeconds'> & {
  shutdownGraceSeconds: number;
  /** Clients must send this bearer token (ZIMAGE_API_TOKEN or its _FILE). Unset: no auth. */
  apiToken: TokenSetting | undefined;
  /** Sent to the pods (ZIMAGE_POD_API_TOKEN or its _FILE), when they require a token. */
  podToken: TokenSetting | undefined;
};

const envOf: Record<keyof z.output<typeof routerConfigSchema>, string> = {
  namespace: runtimeEnv.namespace,
  maxResolution: runtimeEnv.maxResolution,
  requestTimeoutSeconds: runtimeEnv.requestTimeoutSeconds,
  steps: runtimeEnv.steps,
  ...routerEnv,
};

export class RouterConfigError extends ConfigError {
  constructor(lines: string[]) {
    super(`invalid router configuration:\n  ${lines.join('\n  ')}`);
  }
}

/**
 * Reads the environment; empty variables count as unset. Every bad variable is named. Token
 * files are read through `readFile` to check them at start-up (the router reads them again
 * every second).
 */
export function loadRouterConfig(
  env: Record<string, string | undefined>,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): RouterConfig {
  const input: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(envOf)) {
    const value = env[name];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const client = tokenSetting(
    env,
    { literal: authEnv.apiToken, file: authEnv.apiTokenFile },
    readFile,
  );
  const pods = tokenSetting(
    env,
    { literal: authEnv.podApiToken, file: authEnv.podApiTokenFile },
    readFile,
  );
  const problems = [client.problem, pods.problem].filter((p) => p !== undefined);
  const parsed = routerConfigSchema.safeParse(input);
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const key = String(i.path[0]) as keyof typeof envOf;
      problems.push(`${envOf[key] ?? key}: ${i.message}`);
    }
  }
  if (problems.length > 0 || !parsed.success) throw new RouterConfigError(problems);
  const { shutdownGraceSeconds, ...rest } = parsed.data;
  return {
    ...rest,
    shutdownGraceSeconds: shutdownGraceSeconds ?? rest.requestTimeoutSeconds + 5,
    apiToken: client.setting,
    podToken: pods.setting,
  };
}
