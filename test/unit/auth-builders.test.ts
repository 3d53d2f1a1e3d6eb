/**
 * spec.auth in the pod templates: the Secret as a volume (never subPath, so kubelet updates it),
 * only the keys each pod needs, the files' paths in the env the runtime and the router read;
 * and nothing at all without spec.auth, so existing pods do not roll on an operator upgrade.
 */
import type { V1Container } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { zimageDeploymentSpec } from '../../src/operator/api/v1alpha1/spec.ts';
import type { ZImageDeployment } from '../../src/operator/api/v1alpha1/types.ts';
import { effectiveOf } from '../../src/operator/autoscaling/decision.ts';
import { buildDeployment } from '../../src/operator/builders/deployment.ts';
import { buildRouterDeployment, defaultRouterImage } from '../../src/operator/builders/router.ts';
import { loadRouterConfig } from '../../src/router/config.ts';
import { baseSpec } from '../support/specs.ts';

const dir = '/var/run/secrets/zimage.dev/auth';

function cr(spec: Record<string, unknown> = {}): ZImageDeployment {
  return {
    metadata: { name: 'turbo', namespace: 'ml', uid: 'u-1' },
    spec: zimageDeploymentSpec.parse({ ...baseSpec(), ...spec }),
  };
}
const runtimePod = (z: ZImageDeployment) => buildDeployment(z, effectiveOf(z)).spec!.template.spec!;
const routerPod = (z: ZImageDeployment) =>
  buildRouterDeployment(z, { image: defaultRouterImage }).spec!.template.spec!;
const envOf = (c: V1Container) =>
  Object.fromEntries(
    (c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
  );
const tokenEnv = (c: V1Container) =>
  Object.fromEntries(Object.entries(envOf(c)).filter(([k]) => /TOKEN/.test(k)));

describe('spec.auth in the pod templates', () => {
  it('renders nothing without spec.auth (existing pods keep their template)', () => {
    for (const pod of [runtimePod(cr()), routerPod(cr())]) {
      expect(pod.volumes!.map((v) => v.name)).not.toContain('auth');
      expect(pod.containers[0]!.volumeMounts!.map((m) => m.name)).not.toContain('auth');
      expect(tokenEnv(pod.containers[0]!)).toEqual({});
    }
  });

  it('gives the runtime pods only their own token, the routers both', () => {
    const z = cr({ auth: { podTokenKey: 'pod-token' } });
    const runtime = runtimePod(z);
    expect(runtime.volumes!.find((v) => v.name === 'auth')).toEqual({
      name: 'auth',
      secret: {
        secretName: 'turbo-auth',
        items: [{ key: 'pod-token', path: 'pod-token' }],
        defaultMode: 0o440,
      },
    });
    expect(tokenEnv(runtime.containers[0]!)).toEqual({
      ZIMAGE_API_TOKEN_FILE: `${dir}/pod-token`,
      ZIMAGE_TOKEN_GRACE_SECONDS: '120',
    });
    const router = routerPod(z);
    expect(router.volumes!.find((v) => v.name === 'auth')?.secret?.items).toEqual([
      { key: 'token', path: 'token' },
      { key: 'pod-token', path: 'pod-token' },
    ]);
    expect(tokenEnv(router.containers[0]!)).toEqual({
      ZIMAGE_API_TOKEN_FILE: `${dir}/token`,
      ZIMAGE_POD_API_TOKEN_FILE: `${dir}/pod-token`,
      ZIMAGE_TOKEN_GRACE_SECONDS: '120',
    });
  });

  it('mounts the whole volume read-only, never a subPath (kubelet would not update it)', () => {
    const z = cr({ auth: {} });
    for (const pod of [runtimePod(z), routerPod(z)]) {
      expect(pod.containers[0]!.volumeMounts!.find((m) => m.name === 'auth')).toEqual({
        name: 'auth',
        mountPath: dir,
        readOnly: true,
      });
    }
  });

  it('with one key, the pods accept the client token and the routers send it', () => {
    const z = cr({ auth: { rotationGraceSeconds: 0 } });
    expect(tokenEnv(runtimePod(z).containers[0]!)).toEqual({
      ZIMAGE_API_TOKEN_FILE: `${dir}/token`,
      ZIMAGE_TOKEN_GRACE_SECONDS: '0',
    });
    const router = routerPod(z);
    expect(router.volumes!.find((v) => v.name === 'auth')?.secret?.items).toEqual([
      { key: 'token', path: 'token' },
    ]);
    expect(tokenEnv(router.containers[0]!)).toMatchObject({
      ZIMAGE_API_TOKEN_FILE: `${dir}/token`,
      ZIMAGE_POD_API_TOKEN_FILE: `${dir}/token`,
    });
  });

  it('with the router off, the pods take the client token', () => {
    const z = cr({ router: { enabled: false }, auth: { clientTokenKey: 'c' } });
    expect(tokenEnv(runtimePod(z).containers[0]!)['ZIMAGE_API_TOKEN_FILE']).toBe(`${dir}/c`);
  });

  it('renders router env the router reads (files checked as kubelet mounts them)', () => {
    const z = cr({ auth: { podTokenKey: 'pod-token' } });
    const env = { ...envOf(routerPod(z).containers[0]!), ZIMAGE_NAMESPACE: 'ml' };
    const config = loadRouterConfig(env, (path) => {
      if (!path.startsWith(`${dir}/`)) throw new Error(`not mounted: ${path}`);
      return 'a-token\n';
    });
    expect(config.apiToken).toEqual({ file: `${dir}/token` });
    expect(config.podToken).toEqual({ file: `${dir}/pod-token` });
  });
});
