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
    service: crName,
    pdb: crName,
    configMap: `${crName}-runtime`,
    serviceAccount: `${crName}-runtime`,
    role: `${crName}-runtime-config`,
    roleBinding: `${crName}-runtime-config`,
    serviceMonitor: crName,
    prometheusRule: crName,
  } as const;
}
