/**
 * spec.auth in the pod templates: the user's Secret `<name>-auth` as a volume and the token files' paths in
 * the environment (src/contract/auth.ts). Nothing at all without spec.auth, so objects without
 * it keep their templates, and their pods, across an operator upgrade.
 *
 * A Secret volume, not env from secretKeyRef: kubelet rewrites a volume's files when the Secret
 * changes (env is fixed at container start), and the processes read the files again every
 * second, so a rotation needs no restart. Mounted whole, never with subPath: kubelet does not
 * update a subPath mount. Only the keys a pod needs are projected: the runtime pods never see
 * the client token when the pods have one of their own, so a pod cannot be made to leak it.
 */
import type { V1EnvVar, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { authEnv, authMountPath } from '../../contract/auth.ts';
import type { AuthSpec } from '../api/v1alpha1/auth-spec.ts';
import { childNames } from '../api/v1alpha1/names.ts';
import type { ZImageDeployment } from '../api/v1alpha1/types.ts';

export interface PodAuth {
  env: V1EnvVar[];
  volumes: V1Volume[];
  mounts: V1VolumeMount[];
}

const none: PodAuth = { env: [], volumes: [], mounts: [] };
const volumeName = 'auth';
const file = (key: string) => `${authMountPath}/${key}`;

function mounted(cr: ZImageDeployment, auth: AuthSpec, keys: string[], env: V1EnvVar[]): PodAuth {
  return {
    env: [...env, { name: authEnv.tokenGraceSeconds, value: String(auth.rotationGraceSeconds) }],
    volumes: [
      {
        name: volumeName,
        secret: {
          secretName: childNames(cr.metadata.name).authSecret,
          items: [...new Set(keys)].map((key) => ({ key, path: key })),
          // Owner and group (fsGroup, restrictedPod) only.
          defaultMode: 0o440,
        },
      },
    ],
    mounts: [{ name: volumeName, mountPath: authMountPath, readOnly: true }],
  };
}

/** The token the runtime pods accept: their own with the router on, else the clients'. */
function podKey(cr: ZImageDeployment, auth: AuthSpec): string {
  return (cr.spec.router.enabled && auth.podTokenKey) || auth.clientTokenKey;
}

/** The runtime pods: one token file, ZIMAGE_API_TOKEN_FILE. */
export function runtimeAuth(cr: ZImageDeployment): PodAuth {
  const { auth } = cr.spec;
  if (!auth) return none;
  const key = podKey(cr, auth);
  return mounted(cr, auth, [key], [{ name: authEnv.apiTokenFile, value: file(key) }]);
}

/** The routers: the clients' token to check, the pods' token to send. */
export function routerAuth(cr: ZImageDeployment): PodAuth {
  const { auth } = cr.spec;
  if (!auth) return none;
  const pods = podKey(cr, auth);
  return mounted(
    cr,
    auth,
    [auth.clientTokenKey, pods],
    [
      { name: authEnv.apiTokenFile, value: file(auth.clientTokenKey) },
      { name: authEnv.podApiTokenFile, value: file(pods) },
    ],
  );
}
