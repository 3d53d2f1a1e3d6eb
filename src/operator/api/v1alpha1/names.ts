/**
 * Names and labels of everything the operator creates for one ZImageDeployment. One module,
 * so builders, informers and tests never spell a name twice.
 */
import { apiGroup, instanceLabel } from '../../../contract/labels.ts';

export const operatorName = 'zimage-operator';
/** The one field manager for every server-side apply the operator makes. */
export const fieldManager = 'zimage-operator';

export const labelKeys = {
  name: 'app.kubernetes.io/name',
  instance: instanceLabel,
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
  /** The owning ZImageDeployment, for mapping a child's event back to its owner. */
  owner: `${apiGroup}/deployment`,
} as const;

/** Selects every child of every ZImageDeployment (the child informers' label selector). */
export const managedSelector = `${labelKeys.managedBy}=${operatorName}`;

/** Immutable pod selector: never add to it (Deployment selectors cannot change). */
export function selectorLabels(crName: string): Record<string, string> {
  return { [labelKeys.name]: 'zimage-runtime', [labelKeys.instance]: crName };
}

export function childLabels(crName: string): Record<string, string> {
  return {
    ...selectorLabels(crName),
    [labelKeys.managedBy]: operatorName,
    [labelKeys.component]: 'inference',
    [labelKeys.owner]: crName,
  };
}

/** The serialized selector the scale subresource reports (status.selector). */
export function selectorString(crName: string): string {
  return Object.entries(selectorLabels(crName))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function childNames(crName: string) {
  return {
    deployment: crName,
    /** The Service clients use: the runtime pods, or the routers while spec.router is on. */
    service: crName,
    /** The runtime pods for direct use, only while the router is on. */
    podsService: `${crName}-pods`,
    pdb: crName,
    configMap: `${crName}-runtime`,
    serviceAccount: `${crName}-runtime`,
    role: `${crName}-runtime-config`,
    roleBinding: `${crName}-runtime-config`,
    serviceMonitor: crName,
    prometheusRule: crName,
    /** The runtime pods' NetworkPolicy, only while spec.networkPolicy.enabled. */
    networkPolicy: crName,
    /**
     * The Secret spec.auth reads the tokens from: the user creates it, the pods mount it. Named
     * after the object, not by the spec, so the operator's admission policy can let its pods
     * mount exactly this Secret and no other (deploy/base/admission-policy.yaml).
     */
    authSecret: `${crName}-auth`,
  } as const;
}

/**
 * The router pods' selector. A name of its own (zimage-router), so that it never matches
 * selectorLabels(): the runtime's Service, PDB, scale selector and the router's own discovery
 * select runtime pods only.
 */
export function routerSelectorLabels(crName: string): Record<string, string> {
  return { [labelKeys.name]: 'zimage-router', [labelKeys.instance]: crName };
}

/**
 * Labels of the router pods. Without the owner label: podsOf() (status, the autoscaler)
 * counts the runtime pods only; the router Deployment's status reports its pods.
 */
export function routerPodLabels(crName: string): Record<string, string> {
  return {
    ...routerSelectorLabels(crName),
    [labelKeys.managedBy]: operatorName,
    [labelKeys.component]: 'router',
  };
}

/** Labels of the router's objects: the owner label maps their events to the ZImageDeployment. */
export function routerLabels(crName: string): Record<string, string> {
  return { ...routerPodLabels(crName), [labelKeys.owner]: crName };
}

/** The router's objects, present only while spec.router.enabled. */
export function routerNames(crName: string) {
  const name = `${crName}-router`;
  return {
    deployment: name,
    pdb: name,
    serviceAccount: name,
    role: name,
    roleBinding: name,
    /** Also needs spec.networkPolicy.enabled. */
    networkPolicy: name,
  } as const;
}
