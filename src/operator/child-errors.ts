/**
 * What an API error on a child means. Two kinds (STYLE.md principle 6):
 * - a rejection: the API server refused the object as we built it (4xx: validation,
 *   admission, quota, policy). Retrying the same object cannot succeed; the user must change
 *   the spec or the namespace, so it becomes a condition, not a retry loop;
 * - transient: anything else (5xx, no response, throttling, a conflict): thrown, the queue
 *   backs off and retries.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import { apiStatus, type ApiStatus } from '../formats/api-status.ts';
import type { Problem } from './problem.ts';
import { reasons } from './reasons.ts';

export interface Rejection {
  /** The child, e.g. Deployment. */
  kind: string;
  name: string;
  code: number;
  /** The API server's words, naming the child and the field, plus the spec field behind it. */
  message: string;
}

/**
 * 4xx that are not about the object: 401 (our own token; a status write would fail too),
 * 404 (something the request needs is not there yet: a RoleBinding's Role, which the API
 * server reads to check escalation, or a namespace or CRD in flux), 408 (a timeout), 409 (a
 * conflict: someone wrote first, re-read and retry) and 429 (throttling). These stay transient.
 */
const routine4xx = new Set([401, 404, 408, 409, 429]);

/**
 * Server-side apply turns the request into a typed object before validation runs, and answers
 * 500 when the applied object itself cannot be: two imagePullSecrets with the same name break
 * a list-map key ("failed to create typed patch object ... duplicate entries for key"), a
 * quantity like "1.5.5" does not convert ("failed to convert new object ... quantities must
 * match the regular expression"). The request is at fault and retrying it can never succeed,
 * so these are rejections like a 422, whatever the code says.
 */
const applyConversionFailure = /failed to create typed patch object|failed to convert new object/;

function isTypedPatchFailure(s: ApiStatus): boolean {
  return s.code === 500 && applyConversionFailure.test(s.message ?? '');
}

export function isRejection(err: unknown): boolean {
  const s = apiStatus(err);
  return (s.code >= 400 && s.code < 500 && !routine4xx.has(s.code)) || isTypedPatchFailure(s);
}

/**
 * Where a child's field comes from in the ZImageDeployment, so the message names the field
 * the user can change. Paths as the API server writes them (validation errors) and as the
 * typed patch writes them (`.spec.template.spec.containers[name="runtime"].resources`).
 */
const specFieldOf: [RegExp, string][] = [
  [/spec\.template\.spec\.containers\[[^\]]*\]\.resources/, 'spec.runtime.resources'],
  [/spec\.template\.spec\.containers\[[^\]]*\]\.image\b/, 'spec.runtime.image'],
  [/spec\.template\.spec\.containers\[[^\]]*\]\.volumeMounts/, 'spec.model.source.pvc.subPath'],
  [/spec\.template\.spec\.nodeSelector/, 'spec.gpu.nodeSelector'],
  [/spec\.template\.spec\.tolerations/, 'spec.gpu.tolerations'],
  [/spec\.template\.spec\.runtimeClassName/, 'spec.gpu.runtimeClassName'],
  [/spec\.template\.spec\.imagePullSecrets/, 'spec.imagePullSecrets'],
  [/spec\.template\.spec\.volumes/, 'spec.model.source.pvc'],
  [/\bmetadata\.(name|labels)/, 'metadata.name'],
  // A conversion failure names no field; resources are the only quantities a spec sets.
  [/quantities must match/, 'spec.runtime.resources'],
];

function specFields(s: ApiStatus): string[] {
  const text = [s.message ?? '', ...s.causes.map((c) => c.field ?? '')].join(' ');
  return [...new Set(specFieldOf.filter(([re]) => re.test(text)).map(([, f]) => f))];
}

/** The rejection an apply error is, or undefined when it is transient. */
export function rejectionOf(kind: string, name: string, err: unknown): Rejection | undefined {
  if (!isRejection(err)) return undefined;
  const s = apiStatus(err);
  let message = s.message ?? `the API server answered ${s.code}${s.reason ? ` ${s.reason}` : ''}`;
  // The message usually lists the causes already; add those it does not.
  const missing = s.causes.filter((c) => c.field && !message.includes(c.field));
  if (missing.length > 0)
    message += ` (${missing.map((c) => `${c.field}: ${c.message ?? c.reason ?? ''}`).join('; ')})`;
  // Validation and admission messages name the object ("Deployment.apps \"x\" is invalid");
  // the conversion failures name only a namespace/name pair and a kind.
  if (!message.includes(`"${name}"`)) message = `${kind} "${name}": ${message}`;
  const fields = specFields(s);
  if (fields.length > 0) message += ` [from ${fields.join(', ')}]`;
  return { kind, name, code: s.code, message };
}

/** Condition messages stay well under the CRD's 32768 characters (Events take 1024). */
const maxMessage = 4096;

/**
 * Ready=False for refused children: the API server's words for each, in plan order (so the
 * message, and the status, stay the same while nothing changes), and what still runs.
 */
export function rejectionProblem(
  rejections: readonly Rejection[],
  deployment: V1Deployment | undefined,
): Problem {
  const words = rejections.map((r) => r.message).join('; ');
  const running = deployment
    ? ` The running Deployment keeps its last applied spec (${deployment.status?.readyReplicas ?? 0}/${deployment.spec?.replicas ?? 0} pods ready); fix the spec or the namespace’s policy and it rolls out.`
    : ' Nothing runs yet; fix the spec or the namespace’s policy.';
  const message = `${words}.${running}`;
  return {
    reason: reasons.ChildRejected,
    message: message.length > maxMessage ? `${message.slice(0, maxMessage - 1)}…` : message,
  };
}
