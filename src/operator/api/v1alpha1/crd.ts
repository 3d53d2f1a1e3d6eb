/**
 * Generates the ZImageDeployment CRD from the zod schemas. `npm run gen:crd` writes
 * crds/zimage.dev_zimagedeployments.yaml; a unit test fails when the checked-in file is stale.
 */
import { apiGroup } from '../../../contract/labels.ts';
import { objectNameRule } from './object-name.ts';
import { openApi, type Json } from './openapi.ts';
import { zimageDeploymentSpec } from './spec.ts';
import { zimageDeploymentStatus } from './status.ts';

export const crdNames = {
  group: apiGroup,
  version: 'v1alpha1',
  kind: 'ZImageDeployment',
  plural: 'zimagedeployments',
  singular: 'zimagedeployment',
  listKind: 'ZImageDeploymentList',
  shortNames: ['zid'],
} as const;

export function buildCrd(): Json {
  const spec = openApi(zimageDeploymentSpec);
  const status = openApi(zimageDeploymentStatus);
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${crdNames.plural}.${crdNames.group}` },
    spec: {
      group: crdNames.group,
      scope: 'Namespaced',
      names: {
        kind: crdNames.kind,
        listKind: crdNames.listKind,
        plural: crdNames.plural,
        singular: crdNames.singular,
        shortNames: [...crdNames.shortNames],
        categories: ['zimage'],
      },
      versions: [
        {
          name: crdNames.version,
          served: true,
          storage: true,
          subresources: {
            status: {},
            scale: {
              specReplicasPath: '.spec.replicas',
              statusReplicasPath: '.status.replicas',
              labelSelectorPath: '.status.selector',
            },
          },
          additionalPrinterColumns: [
            { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
            { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas' },
            { name: 'Routers', type: 'string', jsonPath: '.status.router.ready' },
            { name: 'Steps', type: 'integer', jsonPath: '.status.effective.steps' },
            { name: 'Offload', type: 'string', jsonPath: '.status.effective.offload' },
            { name: 'Attention', type: 'string', jsonPath: '.status.effective.attention' },
            { name: 'Last Action', type: 'string', jsonPath: '.status.lastAction' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description:
                'ZImageDeployment runs Z-Image-Turbo on GPUs and keeps it healthy by itself.',
              required: ['spec'],
              'x-kubernetes-validations': [objectNameRule],
              properties: {
                apiVersion: { type: 'string', description: 'APIVersion of this object.' },
                kind: { type: 'string', description: 'Kind of this object.' },
                // Typed so that the root rule's fieldPath can name metadata.name.
                metadata: { type: 'object', properties: { name: { type: 'string' } } },
                spec: { ...spec, description: 'Desired state.' },
                status: { ...status, description: 'Observed state, written by the operator.' },
              },
            },
          },
        },
      ],
    },
  };
}
