/**
 * A Service's backends as kube-proxy would route to them: the pods its selector matches that
 * are Ready and not terminating, at the Service port's targetPort (a number, or the container
 * port of that name).
 *
 * Why not the EndpointSlices: the API server refuses loopback addresses in them ("may not be
 * in the loopback range (127.0.0.0/8, ::1/128)", seen in the controller-manager's log), and
 * every pod IP of the local cluster is loopback, so the EndpointSlice controller selects the
 * right pods but can never write them. Clients of the local fleet (tests, the load generator)
 * resolve a Service here instead; there is no kube-proxy to route a ClusterIP either.
 */
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { keyOf } from '../../src/contract/object-key.ts';

export interface Backend {
  pod: string;
  address: string;
  port: number;
  /** `http://address:port`. */
  url: string;
}

const ready = (p: V1Pod) =>
  !p.metadata?.deletionTimestamp &&
  (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false);

export async function serviceBackends(
  core: CoreV1Api,
  namespace: string,
  service: string,
  portName?: string,
): Promise<Backend[]> {
  const svc = await core.readNamespacedService({ name: service, namespace });
  const ports = svc.spec?.ports ?? [];
  const port = portName ? ports.find((p) => p.name === portName) : ports[0];
  if (!port)
    throw new Error(`Service ${keyOf({ namespace, name: service })} has no port ${portName ?? ''}`);
  const selector = Object.entries(svc.spec?.selector ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  if (!selector) return [];
  const pods = await core.listNamespacedPod({ namespace, labelSelector: selector });
  const target = port.targetPort ?? port.port;
  return pods.items.filter(ready).flatMap((pod) => {
    const number =
      typeof target === 'number'
        ? target
        : pod.spec?.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === target)
            ?.containerPort;
    const address = pod.status?.podIP;
    if (!address || number === undefined) return [];
    return [
      { pod: pod.metadata!.name!, address, port: number, url: `http://${address}:${number}` },
    ];
  });
}
