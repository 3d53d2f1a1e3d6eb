/** Helpers for ZImageDeployment objects in tests. */
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import type { Condition } from '../../src/operator/api/v1alpha1/status.ts';
import type { ZImageDeploymentObject } from '../../src/operator/api/v1alpha1/types.ts';
import { eventually } from './k8s.ts';

import { zidClient } from '../../dev/zid.ts';
import { keyOf } from '../../src/contract/object-key.ts';

export { gvr, zidClient } from '../../dev/zid.ts';

/** A Status body's message, decoded (JSON writes `<` as \u003c); the raw body otherwise. */
function statusMessage(body: unknown): string {
  try {
    const status = JSON.parse(String(body)) as { message?: unknown };
    if (typeof status.message === 'string') return status.message;
  } catch {
    // not JSON: fall through to the raw body
  }
  return String(body);
}

/** The API server's verdict on creating a spec: 'accepted' or its error message. */
export async function apiVerdict(
  kc: KubeConfig,
  namespace: string,
  name: string,
  spec: unknown,
): Promise<string> {
  const zid = zidClient(kc);
  try {
    await zid.create(namespace, name, spec);
    await zid.delete(namespace, name);
    return 'accepted';
  } catch (err) {
    if (err instanceof ApiException) return `${err.code}: ${statusMessage(err.body)}`;
    throw err;
  }
}

export function condition(obj: ZImageDeploymentObject, type: string): Condition | undefined {
  return obj.status?.conditions?.find((c) => c.type === type);
}

/** Wait until the named condition has the status (and reason, if given). */
export async function waitForCondition(
  kc: KubeConfig,
  namespace: string,
  name: string,
  type: string,
  status: 'True' | 'False' | 'Unknown',
  reason?: string,
  timeoutMs = 60_000,
): Promise<ZImageDeploymentObject> {
  const zid = zidClient(kc);
  return eventually(
    `${keyOf({ namespace, name })} ${type}=${status}${reason ? ` (${reason})` : ''}`,
    async () => {
      const obj = await zid.get(namespace, name);
      const c = condition(obj, type);
      return c?.status === status && (!reason || c.reason === reason) ? obj : undefined;
    },
    timeoutMs,
  );
}
