/** Row shapes and spec builders of the shared spec table (see ../specs.ts). */
import { maxObjectNameLength } from '../../../src/operator/api/v1alpha1/object-name.ts';

import { baseSpec } from '../../../dev/specs.ts';

export { baseSpec };

export const rule = (extra: Record<string, unknown>) => ({
  name: 'r1',
  signal: 'gpuUtilization',
  operator: 'Above',
  threshold: 90,
  action: { type: 'Scale', scale: { by: 1 } },
  ...extra,
});

export const withRuntime = (runtime: Record<string, unknown>) => () => {
  const s = baseSpec();
  s.runtime = { ...s.runtime, ...runtime };
  return s;
};
export const withAutoscaling = (autoscaling: Record<string, unknown>) => () => ({
  ...baseSpec(),
  autoscaling,
});
export const withGpu = (gpu: Record<string, unknown>) => () => ({ ...baseSpec(), gpu });
export const withResources = (resources: Record<string, unknown>) => withRuntime({ resources });
export const withToleration = (toleration: Record<string, unknown>) =>
  withGpu({ tolerations: [toleration] });
export const withSubPath = (subPath: string) => () => ({
  ...baseSpec(),
  model: { source: { pvc: { claimName: 'zimage-models', subPath } } },
});
export const withRule = (extra: Record<string, unknown>) =>
  withAutoscaling({ rules: [rule(extra)] });

export interface InvalidCase {
  name: string;
  spec: () => unknown;
  /** metadata.name to create the object with (default: a valid name). */
  objectName?: string;
  /** Field both verdicts must name (API server and zod). */
  field: string;
  /** Where the API server's wording differs (unknown fields). */
  apiField?: string;
  /** A fragment of the message both verdicts must carry (the rule's own words). */
  message?: string;
}

export interface ValidCase {
  name: string;
  spec: () => unknown;
  objectName?: string;
}

/** The longest name the CRD allows (derived from the longest child name in names.ts). */
export const longestObjectName = 'z'.repeat(maxObjectNameLength);
