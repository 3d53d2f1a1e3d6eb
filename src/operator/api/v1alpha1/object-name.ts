/**
 * Which names a ZImageDeployment may have: the operator names its children after it (the
 * Service by the name itself, so no dots: DNS-1035) and writes it into label values, and every
 * such name and value must fit 63 characters. The longest derived name comes from names.ts, so
 * a new child with a longer suffix shortens the limit by itself.
 */
import { z } from 'zod';
import { childLabels, childNames, routerNames } from './names.ts';
import { withCrdRules } from './crd-rules.ts';
import { cel, type CelRule } from './schema-kit.ts';

/** DNS-1035 label and Kubernetes label-value limit. */
const labelLimit = 63;

const probe = '<name>';
const derived = [
  ...Object.values(childNames(probe)),
  ...Object.values(routerNames(probe)),
  ...Object.values(childLabels(probe)).filter((v) => v.includes(probe)),
];
const longest = derived.reduce((a, b) => (b.length > a.length ? b : a));

/** 63 minus the longest suffix: with `-runtime-config` (15 characters), 48. */
export const maxObjectNameLength = labelLimit - (longest.length - probe.length);

/** A DNS-1035 label (what Service names must be): a letter first, no dots. */
export const dns1035Label = '^[a-z]([-a-z0-9]*[a-z0-9])?$';

/**
 * A root rule: CRDs may check `self.metadata.name` there (and only name and generateName of
 * the metadata). The API server checks generated names too: generateName is filled in first.
 */
export const objectNameRule: CelRule = {
  rule: `self.metadata.name.size() <= ${maxObjectNameLength} && self.metadata.name.matches('${dns1035Label}')`,
  message:
    `must be a DNS-1035 label of at most ${maxObjectNameLength} characters (lowercase letters, ` +
    `digits and '-', starting with a letter, no dots): the Service takes the name, and children ` +
    `such as ${longest} must fit ${labelLimit}`,
  fieldPath: '.metadata.name',
};

/** The operator's check of the name, with the CRD's own rule (objects admitted under an older CRD). */
export const zimageDeploymentName = withCrdRules(
  z
    .object({ metadata: z.object({ name: z.string() }).loose() })
    .loose()
    .meta(cel(objectNameRule)),
);
