/**
 * The body of POST /v1/images/generations, OpenAI-style. Unknown fields are refused (a typo
 * such as "step" must not silently fall back to the default). Every message starts with the
 * field it is about and says what would be accepted.
 */
import { z } from 'zod';
import { stepsRange } from '../contract/runtime.ts';
import { parseSize, type Size } from '../contract/size.ts';
import { sizeProblem } from './size.ts';
import { invalidField, type ApiError } from './errors.ts';

/**
 * A hard cap before the tokenizer: the text encoder takes 512 tokens (about 2,000 characters of
 * English, fewer of CJK), so 4,000 characters (code points) is always too long, and refusing it
 * here costs no queue slot. The exact limit is the engine's (PROMPT_TOO_LONG).
 */
export const maxPromptChars = 4_000;
/** Seeds are unsigned 32-bit, as in the reference pipeline's torch.Generator use. */
export const maxSeed = 2 ** 32 - 1;

export interface RequestLimits {
  maxResolution: Size;
  maxImages: number;
}

export interface GenerationRequest {
  prompt: string;
  width: number;
  height: number;
  n: number;
  /** Absent: the route draws one. */
  seed: number | undefined;
  /** Absent: the live config's default. */
  steps: number | undefined;
}

const wholeNumber = (what: string, min: number, max: number) =>
  z
    .number({ error: `must be ${what} between ${min} and ${max}` })
    .int({ error: `must be a whole number between ${min} and ${max}` })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });

/** `model` and `user` are ignored; 256 characters is far more than a model name or user id needs. */
const maxIgnoredChars = 256;
const ignoredText = z
  .string({ error: 'must be a string' })
  .max(maxIgnoredChars, { error: `must be at most ${maxIgnoredChars} characters` });

/** 1024x1024 unless the server's maximum is smaller. */
export function defaultSize(max: Size): Size {
  return { width: Math.min(1024, max.width), height: Math.min(1024, max.height) };
}

export function requestSchema(limits: RequestLimits) {
  return z
    .object({
      prompt: z
        .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
        .refine((s) => s.trim().length > 0, { error: 'must not be empty or only whitespace' })
        .refine((s) => [...s].length <= maxPromptChars, {
          error: `must be at most ${maxPromptChars} characters`,
        }),
      size: z
        .string({ error: 'must be a string like "1024x1024"' })
        .refine((s) => parseSize(s) !== undefined, {
          error: (i) =>
            `${JSON.stringify(i.input)}: must be WIDTHxHEIGHT without spaces or leading zeros, e.g. "1024x1024"`,
        })
        .superRefine((s, ctx) => {
          const size = parseSize(s);
          const problem = size && sizeProblem(size, limits.maxResolution);
          if (problem) ctx.addIssue({ code: 'custom', message: `${s}: ${problem}` });
        })
        .optional(),
      n: wholeNumber('an integer', 1, limits.maxImages).optional(),
      seed: wholeNumber('an integer', 0, maxSeed).optional(),
      steps: wholeNumber('an integer', stepsRange.min, stepsRange.max).optional(),
      response_format: z
        .string({ error: 'must be "b64_json"' })
        .refine((f) => f === 'b64_json', {
          error: (i) =>
            i.input === 'url'
              ? 'only "b64_json" is supported: this server returns images inline, it hosts no URLs'
              : 'must be "b64_json"',
        })
        .optional(),
      /** Accepted for OpenAI compatibility and ignored: this server runs one model. */
      model: ignoredText.optional(),
      user: ignoredText.optional(),
    })
    .strict();
}

const fieldNames = Object.keys(
  requestSchema({ maxResolution: { width: 0, height: 0 }, maxImages: 1 }).shape,
);

/**
 * One schema per distinct limits, built once: building one (and zod compiling its fast path on
 * first use) took 0.8-1.4 ms per request on the 2-core host, against 10-25 us to run a built one,
 * and the router's goal is 1 ms added in all (docs/performance.md, Router overhead). Keyed by
 * value, on a copy, so limits that a caller changes in place get their own schema (a server
 * has one or two limits for its whole life).
 */
const schemas = new Map<string, ReturnType<typeof requestSchema>>();
function schemaFor(limits: RequestLimits): ReturnType<typeof requestSchema> {
  const { width, height } = limits.maxResolution;
  const key = `${width}x${height}/${limits.maxImages}`;
  let schema = schemas.get(key);
  if (!schema) {
    schema = requestSchema({ maxResolution: { width, height }, maxImages: limits.maxImages });
    schemas.set(key, schema);
  }
  return schema;
}

/** Validate a parsed JSON body; throws a 400 ApiError naming the first bad field. */
export function parseGenerationRequest(body: unknown, limits: RequestLimits): GenerationRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidField(null, 'request body must be a JSON object', 'invalid_body');
  }
  const parsed = schemaFor(limits).safeParse(body);
  if (!parsed.success) throw toApiError(parsed.error.issues[0]);
  const { prompt, size, n, seed, steps } = parsed.data;
  const chosen = (size && parseSize(size)) || defaultSize(limits.maxResolution);
  return { prompt, ...chosen, n: n ?? 1, seed, steps };
}

function toApiError(issue: z.core.$ZodIssue | undefined): ApiError {
  if (!issue) return invalidField(null, 'request body is invalid', 'invalid_body');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    return invalidField(
      key,
      `${key}: unknown field; the accepted fields are ${fieldNames.join(', ')}`,
      'unknown_field',
    );
  }
  const param = issue.path.map(String).join('.');
  return invalidField(param, `${param}: ${issue.message}`, `invalid_${param}`);
}
