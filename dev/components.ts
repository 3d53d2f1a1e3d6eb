import path from 'node:path';
import type { ClusterCerts } from './certs.ts';
import { ok } from './http.ts';
import { kwokNodeAnnotation, podRunnerAnnotation } from './nodes.ts';
import { repoRoot } from './paths.ts';
import { binaryPath } from './tools.ts';

export type ComponentName =
  'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok' | 'pod-runner';

/** Start order; teardown runs it backwards. The pod runner comes last, in fleet clusters only. */
export const componentOrder: readonly ComponentName[] = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
];

export type Ports = Record<
  | 'etcdClient'
  | 'etcdPeer'
  | 'apiserver'
  | 'controllerManager'
  | 'scheduler'
  | 'kwok'
  | 'podRunner',
  number
>;

export interface ComponentContext {
  dir: string;
  ports: Ports;
  certs: ClusterCerts;
  /** Kubeconfig files by identity. */
  kubeconfigs: { admin: string; controllerManager: string; scheduler: string; kwok: string };
  /** Loopback range kwok hands pod IPs out of. */
  podCidr: string;
  /** A fleet cluster: the pod runner's IP range and the pods it takes besides annotated ones. */
  fleet?: { podCidr: string; labelSelector: string; backoffBaseMs: number; pacing: boolean };
}

export interface ComponentSpec {
  command: string;
  args: string[];
  /** Resolves true once the component serves. */
  healthy: () => Promise<boolean>;
}

/**
 * Service ClusterIPs are allocated from this range but nothing routes there (no kube-proxy):
 * no test may send traffic to a ClusterIP. 198.18.0.0/15 is reserved for benchmarking
 * (RFC 2544), neither private nor public, so a stray packet would never reach a real host;
 * a /16 holds 65k Services (a /24 ran out at 254 in the 500-object benchmark).
 */
export const serviceCidr = '198.18.0.0/16';

export function componentSpec(name: ComponentName, ctx: ComponentContext): ComponentSpec {
  const { dir, ports, certs, kubeconfigs } = ctx;
  const loopback = '127.0.0.1';
  switch (name) {
    case 'etcd': {
      const client = `http://${loopback}:${ports.etcdClient}`;
      const peer = `http://${loopback}:${ports.etcdPeer}`;
      return {
        command: binaryPath('etcd'),
        args: [
          '--name=default',
          `--data-dir=${path.join(dir, 'etcd-data')}`,
          `--listen-client-urls=${client}`,
          `--advertise-client-urls=${client}`,
          `--listen-peer-urls=${peer}`,
          `--initial-advertise-peer-urls=${peer}`,
          `--initial-cluster=default=${peer}`,
          // A throwaway dev/test store: fsync only costs time (and disk wear on shared hosts).
          '--unsafe-no-fsync',
          '--log-level=warn',
        ],
        healthy: async () => ok(`${client}/health`),
      };
    }
    case 'kube-apiserver': {
      const url = `https://${loopback}:${ports.apiserver}`;
      return {
        command: binaryPath('kube-apiserver'),
        args: [
          `--etcd-servers=http://${loopback}:${ports.etcdClient}`,
          `--bind-address=${loopback}`,
          `--advertise-address=${loopback}`,
          // The endpoint reconciler refuses loopback addresses; with it off the `kubernetes`
          // Service has no endpoints, which is right: pods here reach the API on loopback.
          '--endpoint-reconciler-type=none',
          `--secure-port=${ports.apiserver}`,
          `--cert-dir=${path.join(dir, 'apiserver-certs')}`,
          `--tls-cert-file=${certs.apiserverCert}`,
          `--tls-private-key-file=${certs.apiserverKey}`,
          `--client-ca-file=${certs.clientCa}`,
          `--service-account-key-file=${certs.saPub}`,
          `--service-account-signing-key-file=${certs.saKey}`,
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          `--service-cluster-ip-range=${serviceCidr}`,
          '--authorization-mode=RBAC',
          // ServiceAccount and PodSecurity are on by default; ExtendedResourceToleration gives
          // pods that request nvidia.com/gpu the toleration for the GPU nodes' taint, as on GKE.
          '--enable-admission-plugins=ExtendedResourceToleration',
          '--allow-privileged=true',
          '--profiling=false',
          '--v=1',
        ],
        healthy: async () =>
          ok(`${url}/readyz`, {
            ca: certs.servingCa,
            cert: certs.clients.admin.cert,
            key: certs.clients.admin.key,
          }),
      };
    }
    case 'kube-controller-manager':
      return {
        command: binaryPath('kube-controller-manager'),
        args: [
          `--kubeconfig=${kubeconfigs.controllerManager}`,
          `--authentication-kubeconfig=${kubeconfigs.controllerManager}`,
          `--authorization-kubeconfig=${kubeconfigs.controllerManager}`,
          `--bind-address=${loopback}`,
          `--secure-port=${ports.controllerManager}`,
          `--cert-dir=${path.join(dir, 'controller-manager-certs')}`,
          '--leader-elect=false',
          // All default controllers (deployment, replicaset, GC, namespace, serviceaccount,
          // disruption, endpointslice, PV binder, ...); each runs under its own service account.
          '--controllers=*',
          '--use-service-account-credentials=true',
          `--service-account-private-key-file=${certs.saKey}`,
          `--root-ca-file=${certs.servingCa}`,
          `--cluster-signing-cert-file=${path.join(dir, 'client-ca.crt')}`,
          `--cluster-signing-key-file=${path.join(dir, 'client-ca.key')}`,
          '--v=1',
        ],
        healthy: async () =>
          ok(`https://${loopback}:${ports.controllerManager}/healthz`, { insecure: true }),
      };
    case 'kube-scheduler':
      return {
        command: binaryPath('kube-scheduler'),
        args: [
          `--kubeconfig=${kubeconfigs.scheduler}`,
          `--authentication-kubeconfig=${kubeconfigs.scheduler}`,
          `--authorization-kubeconfig=${kubeconfigs.scheduler}`,
          `--bind-address=${loopback}`,
          `--secure-port=${ports.scheduler}`,
          `--cert-dir=${path.join(dir, 'scheduler-certs')}`,
          '--leader-elect=false',
          '--v=1',
        ],
        healthy: async () =>
          ok(`https://${loopback}:${ports.scheduler}/healthz`, { insecure: true }),
      };
    case 'kwok':
      return {
        command: binaryPath('kwok'),
        args: [
          `--kubeconfig=${kubeconfigs.kwok}`,
          `--config=${path.join(repoRoot, 'dev', 'kwok-stages.yaml')}`,
          `--manage-nodes-with-annotation-selector=${kwokNodeAnnotation}=fake`,
          `--disregard-status-with-annotation-selector=${podRunnerAnnotation}`,
          // In a fleet cluster our own pods (by label) are the pod runner's too.
          ...(ctx.fleet
            ? [`--disregard-status-with-label-selector=${ctx.fleet.labelSelector}`]
            : []),
          // Pod IPs on loopback: nothing of ours listens on private ranges, and a real
          // process (the pod runner) can bind a pod's own IP.
          `--cidr=${ctx.podCidr}`,
          `--node-ip=${loopback}`,
          // kwok renews each node's Lease; the node controller reads liveness from it.
          '--node-lease-duration-seconds=40',
          `--server-address=${loopback}:${ports.kwok}`,
        ],
        healthy: async () => ok(`http://${loopback}:${ports.kwok}/healthz`),
      };
    case 'pod-runner': {
      if (!ctx.fleet)
        throw new Error('pod-runner: only in a fleet cluster (startCluster({ fleet }))');
      return {
        command: path.join(repoRoot, 'node_modules', '.bin', 'node'),
        args: [
          path.join(repoRoot, 'dev', 'fleet', 'runner-main.ts'),
          // Also what marks the process as this cluster's for cleanup (state.ts ownedBy).
          `--cluster-dir=${dir}`,
          // kwok's identity: the runner plays kubelets as kwok does.
          `--kubeconfig=${kubeconfigs.kwok}`,
          `--pod-cidr=${ctx.fleet.podCidr}`,
          `--port=${ports.podRunner}`,
          `--label-selector=${ctx.fleet.labelSelector}`,
          `--backoff-base-ms=${ctx.fleet.backoffBaseMs}`,
          `--pacing=${ctx.fleet.pacing}`,
        ],
        healthy: async () => ok(`http://${loopback}:${ports.podRunner}/healthz`),
      };
    }
  }
}
