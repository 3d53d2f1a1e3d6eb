/**
 * A client for ZImageDeployment objects (create, get, merge-patch the spec, delete) and the
 * admin clients of a kubeconfig: what the demo, the benches and the tests drive a cluster with.
 */
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { ZImageDeploymentObject } from '../src/operator/api/v1alpha1/types.ts';

/** Admin clients for a kubeconfig file. */
export function clients(kubeconfigPath: string) {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return { kc, core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
}

export const gvr = {
  group: 'zimage.dev',
  version: 'v1alpha1',
  plural: 'zimagedeployments',
} as const;

export function zidClient(kc: KubeConfig) {
  const custom = kc.makeApiClient(CustomObjectsApi);
  return {
    create: (namespace: string, name: string, spec: unknown) =>
      custom.createNamespacedCustomObject({
        ...gvr,
        namespace,
        fieldValidation: 'Strict',
        body: {
          apiVersion: 'zimage.dev/v1alpha1',
          kind: 'ZImageDeployment',
          metadata: { name },
          spec,
        },
      }) as Promise<ZImageDeploymentObject>,
    get: (namespace: string, name: string) =>
      custom.getNamespacedCustomObject({
        ...gvr,
        namespace,
        name,
      }) as Promise<ZImageDeploymentObject>,
    /** JSON merge patch of the spec. */
    patchSpec: (namespace: string, name: string, spec: unknown) =>
      custom.patchNamespacedCustomObject(
        { ...gvr, namespace, name, body: { spec } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ) as Promise<ZImageDeploymentObject>,
    delete: (namespace: string, name: string) =>
      custom.deleteNamespacedCustomObject({ ...gvr, namespace, name }),
  };
}
