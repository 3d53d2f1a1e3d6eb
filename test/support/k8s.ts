import type { CoreV1Api, CoreV1Event, V1Pod } from '@kubernetes/client-node';

export { eventually } from '../../dev/wait.ts';

export { clients } from '../../dev/zid.ts';

export function isReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export async function podsOf(core: CoreV1Api, namespace: string, app: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items;
}

export async function eventsFor(
  core: CoreV1Api,
  namespace: string,
  name: string,
): Promise<CoreV1Event[]> {
  return (
    await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` })
  ).items;
}

/** A fresh namespace per test file keeps tests independent on the shared cluster. */
export async function createNamespace(core: CoreV1Api, prefix: string): Promise<string> {
  const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}
