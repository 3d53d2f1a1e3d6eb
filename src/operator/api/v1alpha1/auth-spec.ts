/**
 * spec.auth: bearer tokens for the image API, from the Secret `<name>-auth` the user creates
 * (named after the object: the operator's admission policy lets its pods mount that Secret and
 * no other; `spec.auth: {}` turns auth on with the defaults). The operator never
 * reads it (its RBAC has no Secrets): kubelet mounts it into the routers and the runtime pods,
 * and they read the files again every second, so a rotation takes effect without a restart.
 */
import { z } from 'zod';
import { defaultTokenGraceSeconds } from '../../../contract/auth.ts';

/**
 * A Secret key as the API server accepts one (IsConfigMapKey): [-._a-zA-Z0-9]+, but not `.`,
 * `..` or anything starting with `..` (kubelet's own `..data` lives beside the keys). Written
 * without lookahead: the CRD's pattern runs on the API server's RE2.
 */
const secretKey = z
  .string()
  .min(1)
  .max(253)
  .regex(
    /^([-_a-zA-Z0-9]|\.[-_a-zA-Z0-9])[-._a-zA-Z0-9]*$/,
    "must be a Secret key: letters, digits, '-', '_' and '.', not starting with '..'",
  );

export const authSpec = z
  .object({
    clientTokenKey: secretKey
      .default('token')
      .describe(
        'Key of the token clients send (Authorization: Bearer <token>) to the routers, or to the runtime pods when spec.router.enabled is false. One token per line: every line is accepted (rotate by adding the new token, then removing the old one).',
      ),
    podTokenKey: secretKey
      .optional()
      .describe(
        'Key of the token the routers send to the runtime pods, which accept only it: clients holding the client token cannot go around the routers. Unset: the pods accept the client token. The routers send the first line. Needs the router.',
      ),
    rotationGraceSeconds: z
      .number()
      .int()
      .min(0)
      .max(3_600)
      .default(defaultTokenGraceSeconds)
      .describe(
        'Seconds a token replaced in the Secret is still accepted after a pod sees the change (kubelet updates each pod within about a minute, at its own moment). 0 refuses it at once.',
      ),
  })
  .strict();

export type AuthSpec = z.infer<typeof authSpec>;
