/**
 * The real operator process for an integration test, as deploy/ runs it: the CRD, its
 * namespace, RBAC and admission policy installed (idempotent; ZIMAGE_ADMISSION_POLICY=off
 * leaves the policy out), the process authenticated as its own ServiceAccount, so a missing
 * RBAC rule or a write the policy refuses fails here as it would in a cluster.
 */
import {
  installOperatorManifests,
  operatorKubeconfig,
  startOperator,
  type OperatorProcess,
} from '../../dev/operator.ts';

export type { OperatorProcess } from '../../dev/operator.ts';

/** Ready (/readyz 200) when it resolves; `stop()` it after the file. */
export async function startTestOperator(
  adminKubeconfigPath: string,
  options?: Parameters<typeof startOperator>[1],
): Promise<OperatorProcess> {
  installOperatorManifests(adminKubeconfigPath);
  return startOperator(await operatorKubeconfig(adminKubeconfigPath), options);
}
