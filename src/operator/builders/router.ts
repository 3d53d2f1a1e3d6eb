/**
 * Pure builders for the router in front of one ZImageDeployment's runtime pods (spec.router):
 * its Deployment, PodDisruptionBudget, ServiceAccount and Role, and the Service that keeps the
 * runtime pods reachable while the client Service points at the routers.
 */
import type {
  V1Deployment,
  V1PodDisruptionBudget,
  V1Role,
  V1RoleBinding,
  V1Service,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { routerEnv, routerMain } from '../../contract/router.ts';
import { runtimeEnv, runtimePaths, runtimePort, runtimePortName } from '../../contract/runtime.ts';
import { routerResourceDefaults } from '../api/v1alpha1/router-spec.ts';
import type { ZImageDeployment } from '../api/v1alpha1/types.ts';
import {
  childNames,
  routerLabels,
  routerNames,
  routerPodLabels,
  routerSelectorLabels,
  selectorLabels,
  selectorString,
} from '../api/v1alpha1/names.ts';
import { routerAuth } from './auth.ts';
import { requestLimitsEnv } from './deployment.ts';
import { podStartEnv } from './pod-start.ts';
import { childMeta } from './owner.ts';
import {
  clusterIpService,
  maxOneUnavailable,
  roleBinding,
  serviceAccount,
  restrictedContainer,
  restrictedPod,
} from './shapes.ts';

/** Where the router runs from: the operator image carries src/router (operator flag --router-image). */
export interface RouterImage {
  image: string;
}

/** The operator's own image (deploy/base/operator.yaml), which runs the router with another command. */
export const defaultRouterImage = 'registry.example/zimage-operator:0.1.0';

function routerMeta(cr: ZImageDeployment, name: string) {
  return childMeta(cr, name, routerLabels(cr.metadata.name));
}

/**
 * The router drains on SIGTERM: readiness off, admitting for 5 s, answering everything admitted
 * (each request at most its deadline), then exit. 15 s past the deadline covers the 5 s of
 * admission and the exit, so the kubelet never kills an answer in flight.
 */
export function routerGraceSeconds(requestTimeoutSeconds: number): number {
  return requestTimeoutSeconds + 15;
}

function routerEnvVars(cr: ZImageDeployment) {
  const { router, runtime } = cr.spec;
  const { maxResolution, maxImages, requestTimeout } = requestLimitsEnv(cr);
  return [
    { name: routerEnv.podSelector, value: selectorString(cr.metadata.name) },
    { name: runtimeEnv.namespace, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    maxResolution,
    ...maxImages,
    requestTimeout,
    // The spec's steps, not the autoscaler's: the router uses them only until a pod's answer
    // says its own, and a live change of steps must not roll the routers.
    { name: runtimeEnv.steps, value: String(runtime.steps) },
    { name: routerEnv.maxQueue, value: String(router.maxQueue) },
    { name: routerEnv.slots, value: String(router.podSlots) },
    ...podStartEnv(cr.spec),
    { name: routerEnv.port, value: String(runtimePort) },
    ...routerAuth(cr).env,
  ];
}

/** The routers' Deployment: the request limits are the runtime's own (requestLimitsEnv). */
export function buildRouterDeployment(cr: ZImageDeployment, at: RouterImage): V1Deployment {
  const { router, runtime } = cr.spec;
  const name = cr.metadata.name;
  const httpGet = (path: string) => ({ path, port: runtimePortName });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: routerMeta(cr, routerNames(name).deployment),
    spec: {
      replicas: router.replicas,
      selector: { matchLabels: routerSelectorLabels(name) },
      // Routers are cheap and need no GPU: surge a new one before an old one goes.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      revisionHistoryLimit: 5,
      template: {
        metadata: { labels: routerPodLabels(name) },
        spec: {
          serviceAccountName: routerNames(name).serviceAccount,
          // Discovery lists and watches the runtime pods with this token.
          automountServiceAccountToken: true,
          terminationGracePeriodSeconds: routerGraceSeconds(runtime.requestTimeoutSeconds),
          securityContext: restrictedPod,
          // One router per node where nodes allow: a node lost takes one router, not both.
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: routerSelectorLabels(name) },
            },
          ],
          containers: [
            {
              name: 'router',
              image: at.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['/usr/local/bin/node', routerMain],
              ports: [{ name: runtimePortName, containerPort: runtimePort, protocol: 'TCP' }],
              env: routerEnvVars(cr),
              resources: {
                requests: { ...routerResourceDefaults.requests, ...router.resources?.requests },
                limits: { ...routerResourceDefaults.limits, ...router.resources?.limits },
              },
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...routerAuth(cr).mounts],
              readinessProbe: {
                httpGet: httpGet(runtimePaths.readyz),
                periodSeconds: 2,
                failureThreshold: 1,
                timeoutSeconds: 1,
              },
              livenessProbe: {
                httpGet: httpGet(runtimePaths.healthz),
                periodSeconds: 10,
                failureThreshold: 3,
                timeoutSeconds: 5,
              },
              securityContext: restrictedContainer,
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }, ...routerAuth(cr).volumes],
          ...(cr.spec.imagePullSecrets ? { imagePullSecrets: cr.spec.imagePullSecrets } : {}),
        },
      },
    },
  };
}

/** maxUnavailable 1, as for the runtime pods: with one router a drain still goes through. */
export function buildRouterPodDisruptionBudget(cr: ZImageDeployment): V1PodDisruptionBudget {
  const name = cr.metadata.name;
  return maxOneUnavailable(routerMeta(cr, routerNames(name).pdb), routerSelectorLabels(name));
}

export function buildRouterServiceAccount(cr: ZImageDeployment): V1ServiceAccount {
  return serviceAccount(routerMeta(cr, routerNames(cr.metadata.name).serviceAccount));
}

/** Discovery's list and watch of the runtime pods, and nothing else (docs/router.md). */
export function buildRouterRole(cr: ZImageDeployment): V1Role {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: routerMeta(cr, routerNames(cr.metadata.name).role),
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
  };
}

export function buildRouterRoleBinding(cr: ZImageDeployment): V1RoleBinding {
  const names = routerNames(cr.metadata.name);
  return roleBinding(routerMeta(cr, names.roleBinding), names.role, names.serviceAccount);
}

/** The runtime pods on a Service of their own, for direct use while the routers take `<name>`. */
export function buildPodsService(cr: ZImageDeployment): V1Service {
  const name = cr.metadata.name;
  return clusterIpService(childMeta(cr, childNames(name).podsService), selectorLabels(name));
}
