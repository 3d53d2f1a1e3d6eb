/**
 * The API server's own words for a failed request, for every app that calls it (the operator
 * on its children, the runtime on its live-config ConfigMap). Every error response carries a
 * metav1.Status body ({message, reason, details: {kind, name, causes: [{field, message}]}});
 * the client's ApiException keeps it as text under a message of its own ("HTTP-Code: 422
 * Message: Unsuccessful HTTP Request Body: ... Headers: ..."), which is no message for a user.
 * client-node's Watch throws neither: an Error of the status text with a numeric statusCode.
 */
import { ApiException } from '@kubernetes/client-node';
import { z } from 'zod';

/** HTTP status of an API error, or 0 for a transport failure. */
export function statusCode(err: unknown): number {
  if (err instanceof ApiException) return err.code;
  const code =
    (err as { code?: unknown; statusCode?: unknown })?.statusCode ??
    (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : 0;
}

const statusBody = z.object({
  kind: z.literal('Status').optional(),
  message: z.string().optional(),
  reason: z.string().optional(),
  details: z
    .object({
      name: z.string().optional(),
      kind: z.string().optional(),
      causes: z
        .array(
          z.object({
            field: z.string().optional(),
            message: z.string().optional(),
            reason: z.string().optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});

export interface ApiStatus {
  /** HTTP status, 0 for a transport failure (no response). */
  code: number;
  /** metav1.StatusReason, e.g. Invalid, Forbidden, AlreadyExists. */
  reason?: string;
  /** The API server's message, e.g. `Deployment.apps "x" is invalid: spec...: Invalid value: ...`. */
  message?: string;
  causes: {
    field?: string | undefined;
    message?: string | undefined;
    reason?: string | undefined;
  }[];
}

function bodyOf(err: unknown): unknown {
  if (!(err instanceof ApiException)) return undefined;
  const body: unknown = err.body;
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body);
  } catch {
    // Not JSON (a proxy's HTML page, say): keep the text itself as the message.
    return { message: body.slice(0, 512) };
  }
}

/** The Status an API error carries; for a transport error, its first line as the message. */
export function apiStatus(err: unknown): ApiStatus {
  const code = statusCode(err);
  const parsed = statusBody.safeParse(bodyOf(err));
  if (parsed.success && (parsed.data.message || parsed.data.reason)) {
    const { message, reason, details } = parsed.data;
    return {
      code,
      ...(reason ? { reason } : {}),
      ...(message ? { message } : {}),
      causes: details?.causes ?? [],
    };
  }
  if (err instanceof ApiException) return { code, causes: [] };
  const first = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  return { code, ...(first ? { message: first } : {}), causes: [] };
}

/** One line for logs and Events: the Status message, never the client's "HTTP-Code: ..." text. */
export function describeApiError(err: unknown): string {
  const s = apiStatus(err);
  return s.message ?? `the API server answered ${s.code}${s.reason ? ` ${s.reason}` : ''}`;
}
