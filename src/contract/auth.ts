/**
 * Bearer tokens of the image API (spec.auth), as the operator renders them and the runtime and
 * the router read them: tokens come from files of a mounted Secret, re-read while the process
 * runs, so a rotated Secret takes effect without a restart (src/image-api/token-file.ts).
 */

/** Environment variables of the token settings (runtime and router alike). */
export const authEnv = {
  /** The token clients must send, as a literal (by hand; the operator never renders it). */
  apiToken: 'ZIMAGE_API_TOKEN',
  /** Or a file holding it (one token per line, any of them accepted): re-read every second. */
  apiTokenFile: 'ZIMAGE_API_TOKEN_FILE',
  /** Router only: the token it sends to the runtime pods, as a literal ... */
  podApiToken: 'ZIMAGE_POD_API_TOKEN',
  /** ... or a file (the first line is sent). */
  podApiTokenFile: 'ZIMAGE_POD_API_TOKEN_FILE',
  /** Seconds a token replaced in its file is still accepted (and, by the router, retried). */
  tokenGraceSeconds: 'ZIMAGE_TOKEN_GRACE_SECONDS',
} as const;

/**
 * Default grace: two of kubelet's default sync periods (1 min each). Kubelet updates a Secret
 * volume within about its sync period plus its cache's delay, pod by pod, so for up to about
 * that long some routers and pods hold the new token and others the old one.
 */
export const defaultTokenGraceSeconds = 120;

/** Where the operator mounts the Secret of spec.auth (read-only, never with subPath). */
export const authMountPath = '/var/run/secrets/zimage.dev/auth';

/** How often a token file is read again: a rotation takes effect within this. */
export const tokenRereadMs = 1_000;
