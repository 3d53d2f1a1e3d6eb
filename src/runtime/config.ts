/**
 * Runtime start-up configuration, from environment variables only (the operator renders them
 * into the pod template; see src/contract/runtime.ts). Validated with zod so a bad value stops
 * start-up with a message naming the variable. `steps` and `offload` here are only the values
 * used until the live ConfigMap is read (live-config.ts).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { authEnv, defaultTokenGraceSeconds } from '../contract/auth.ts';
import { cardIds } from '../contract/card.ts';
import {
  attentionBackends,
  defaultAttention,
  executionProviders,
  fleetEnv,
  imagesPerRequestRange,
  mountPaths,
  offloadModes,
  precisions,
  runtimeEnv,
  runtimePort,
  stepsRange,
} from '../contract/runtime.ts';
import { ConfigError as StartupConfigError } from '../contract/startup.ts';
import { sizeRules, sizeSetting } from '../image-api/size.ts';
import { tokenSetting, type TokenSetting } from '../image-api/token-settings.ts';

/** Variables the runtime reads beyond the contract's (the operator may leave them unset). */
export const serverEnv = {
  host: 'ZIMAGE_HOST',
  apiToken: authEnv.apiToken,
  apiTokenFile: authEnv.apiTokenFile,
  tokenGraceSeconds: authEnv.tokenGraceSeconds,
  bodyLimitBytes: 'ZIMAGE_BODY_LIMIT_BYTES',
  intraOpThreads: 'ZIMAGE_INTRA_OP_THREADS',
  deviceId: 'ZIMAGE_DEVICE_ID',
  shutdownGraceSeconds: 'ZIMAGE_SHUTDOWN_GRACE_SECONDS',
  maxOomRestarts: 'ZIMAGE_MAX_OOM_RESTARTS',
  warmupSize: 'ZIMAGE_WARMUP_SIZE',
  warmupSteps: 'ZIMAGE_WARMUP_STEPS',
  logLevel: 'ZIMAGE_LOG_LEVEL',
} as const;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const size = sizeSetting;

export const runtimeConfigSchema = z
  .object({
    /** Model directory (read-only mount). Default /models. */
    modelDir: z.string().min(1).default(mountPaths.model),
    /** Default cuda. */
    executionProvider: z.enum(executionProviders).default('cuda'),
    /** Default cudnn (defaultAttention in the contract). */
    attention: z.enum(attentionBackends).default(defaultAttention),
    /** Default bf16. */
    precision: z.enum(precisions).default('bf16'),
    /** Largest width and height a request may ask for. Default 1024x1024. */
    maxResolution: size.default({ width: 1024, height: 1024 }),
    /** Requests waiting behind the one generating; more get 429. Default 4. */
    maxQueue: int(0, 1_000).default(4),
    /** Deadline per request, counted from arrival (queueing included). Default 120. */
    requestTimeoutSeconds: int(1, 3_600).default(120),
    /** Default steps until the ConfigMap is read. Default 9. */
    steps: int(stepsRange.min, stepsRange.max).default(stepsRange.default),
    /** Offload mode until the ConfigMap is read. Default none. */
    offload: z.enum(offloadModes).default('none'),
    /** Default 8080. */
    port: int(0, 65_535).default(runtimePort),
    /** Default 0.0.0.0. */
    host: z.string().min(1).default('0.0.0.0'),
    /** Live config source; both or neither. Unset: the start-up values stay. */
    configMap: z.string().min(1).optional(),
    namespace: z.string().min(1).optional(),
    /** Seconds a token replaced in ZIMAGE_API_TOKEN_FILE is still accepted. Default 120. */
    tokenGraceSeconds: int(0, 3_600).default(defaultTokenGraceSeconds),
    /** Images per request (`n`). Default 4. */
    maxImagesPerRequest: int(imagesPerRequestRange.min, imagesPerRequestRange.max).default(
      imagesPerRequestRange.default,
    ),
    /** Request body cap; a prompt needs a few KiB. Default 65536 (64 KiB). */
    bodyLimitBytes: int(1_024, 16 * 1024 * 1024).default(64 * 1024),
    /** ORT intra-op threads per session. Default: the pipeline's (cores - 1). */
    intraOpThreads: int(1, 1_024).optional(),
    /** GPU ordinal for cuda/webgpu. Default 0. */
    deviceId: int(0, 64).default(0),
    /** Time to drain on SIGTERM before a hard exit. Default: request timeout + 5. */
    shutdownGraceSeconds: int(1, 3_600).optional(),
    /** Session recreations after consecutive out-of-memory failures before exiting. Default 3. */
    maxOomRestarts: int(0, 100).default(3),
    /** Warm-up generation before /readyz turns 200. Default 64x64 (the smallest size), 2 steps. */
    warmupSize: size.default({ width: sizeRules.min, height: sizeRules.min }),
    warmupSteps: int(stepsRange.min, stepsRange.max).default(2),
    logLevel: z
      .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
      .default('info'),
    /** VRAM budget for the fit check (fit.ts). Default: the card's memory; neither: no check. */
    gpuMemoryGiB: z.coerce.number().positive().max(1024).optional(),
    /** The card the card model describes (local fleet). Unset: none. */
    gpuCard: z.enum(cardIds, { error: `must be one of ${cardIds.join(', ')}` }).optional(),
    /** Hold each stage for the card model's time on gpuCard (local fleet). Default false. */
    pacing: z.stringbool().default(false),
  })
  .strict()
  .refine((c) => !c.pacing || c.gpuCard !== undefined, {
    path: ['pacing'],
    error: `needs ${fleetEnv.gpuCard}, the card whose time is modelled`,
  });

type Parsed = z.output<typeof runtimeConfigSchema>;
export type RuntimeConfig = Omit<Parsed, 'shutdownGraceSeconds' | 'configMap' | 'namespace'> & {
  shutdownGraceSeconds: number;
  /** Present when both ZIMAGE_CONFIG_MAP and ZIMAGE_NAMESPACE are set. */
  liveConfig: { configMap: string; namespace: string } | undefined;
  /**
   * Bearer token(s) for the API (probes and /metrics stay open): ZIMAGE_API_TOKEN, or
   * ZIMAGE_API_TOKEN_FILE, read again every second. Unset: no auth.
   */
  apiToken: TokenSetting | undefined;
};

type Key = keyof Parsed;
// The token variables are read separately (token-settings.ts).
const { apiToken: _token, apiTokenFile: _file, ...schemaEnv } = serverEnv;
const envOf: Record<Key, string> = {
  modelDir: runtimeEnv.modelDir,
  executionProvider: runtimeEnv.executionProvider,
  attention: runtimeEnv.attention,
  precision: runtimeEnv.precision,
  maxResolution: runtimeEnv.maxResolution,
  maxImagesPerRequest: runtimeEnv.maxImagesPerRequest,
  maxQueue: runtimeEnv.maxQueue,
  requestTimeoutSeconds: runtimeEnv.requestTimeoutSeconds,
  steps: runtimeEnv.steps,
  offload: runtimeEnv.offload,
  port: runtimeEnv.port,
  configMap: runtimeEnv.configMap,
  namespace: runtimeEnv.namespace,
  gpuMemoryGiB: runtimeEnv.gpuMemoryGiB,
  gpuCard: fleetEnv.gpuCard,
  pacing: fleetEnv.pacing,
  ...schemaEnv,
};

/** Thrown for a bad environment; the message lists every bad variable (loadConfigOrExit). */
export class ConfigError extends StartupConfigError {
  constructor(lines: string[]) {
    super(`invalid runtime configuration:\n  ${lines.join('\n  ')}`);
  }
}

/**
 * Reads the environment; pure apart from reading ZIMAGE_API_TOKEN_FILE through `readFile` (to
 * check it at start-up: the runtime reads it again every second, token-settings.ts).
 * Empty variables count as unset (a Helm value rendered as "" should mean "default").
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): RuntimeConfig {
  const input: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(envOf)) {
    const value = env[name];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const problems = crossChecks(input);
  const token = tokenSetting(
    env,
    { literal: serverEnv.apiToken, file: serverEnv.apiTokenFile },
    readFile,
  );
  if (token.problem) problems.push(token.problem);
  const parsed = runtimeConfigSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0]) as Key;
      problems.push(`${envOf[key] ?? key}: ${issue.message}`);
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const { shutdownGraceSeconds, configMap, namespace, ...rest } = parsed.data;
  return {
    ...rest,
    // A generation admitted just before SIGTERM may run its whole deadline; 5 s more covers
    // closing the engine and flushing logs.
    shutdownGraceSeconds: shutdownGraceSeconds ?? rest.requestTimeoutSeconds + 5,
    liveConfig: configMap && namespace ? { configMap, namespace } : undefined,
    apiToken: token.setting,
  };
}

/** Rules across variables. */
function crossChecks(input: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if ((input['configMap'] === undefined) !== (input['namespace'] === undefined)) {
    problems.push(`${runtimeEnv.configMap} and ${runtimeEnv.namespace}: set both or neither`);
  }
  return problems;
}
