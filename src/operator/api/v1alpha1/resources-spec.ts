/**
 * Container resources a user may add over a container's defaults (spec.runtime.resources,
 * spec.router.resources): one shape, one set of CEL rules, each naming that container's defaults.
 */
import {
  boundedRecord,
  cel,
  isQualifiedName,
  isQuantityExpr,
  qualifiedNameHint,
  quantity,
} from './schema-kit.ts';
import { z } from 'zod';

/** Resources the builder sets unless the user overrides them. */
export interface ResourceDefaults {
  readonly requests: Readonly<Record<string, string>>;
  readonly limits: Readonly<Record<string, string>>;
}

/** At most 16 resources a side: plenty for cpu, memory, ephemeral-storage and hugepages. */
const maxResources = 16;

/** `isQuantity(a) && isQuantity(b) ? a >= b : true`: bad values have their own message. */
const atLeast = (limit: string, request: string) =>
  `!(${isQuantityExpr(limit)}) || !(${isQuantityExpr(request)}) || ` +
  `quantity(${limit}).compareTo(quantity(${request})) >= 0`;

/** The user's value of a resource on one side, or the default there ('' when none). */
const given = (side: 'requests' | 'limits', name: string) =>
  `has(self.${side}) && '${name}' in self.${side}`;
const effective = (defaults: ResourceDefaults, side: 'requests' | 'limits', name: string) => {
  const fallback = defaults[side][name];
  return `(${given(side, name)} ? string(self.${side}['${name}']) : '${fallback ?? ''}')`;
};

/**
 * Limits at or above requests, as the API server demands of the Deployment's container. The
 * generic rule covers resources set on both sides; one rule per defaulted resource compares
 * the effective values (a 16Gi memory limit alone is below the runtime's 24Gi default request).
 */
function resourceRules(defaults: ResourceDefaults) {
  const both = {
    rule:
      '!has(self.limits) || !has(self.requests) || self.limits.all(k, !(k in self.requests) || ' +
      `${atLeast('string(self.limits[k])', 'string(self.requests[k])')})`,
    message: 'each limit must be at least its request',
  };
  const names = new Set([...Object.keys(defaults.requests), ...Object.keys(defaults.limits)]);
  const defaulted = [...names].map((name) => {
    const [limit, request] = [
      effective(defaults, 'limits', name),
      effective(defaults, 'requests', name),
    ];
    const shown = (['limits', 'requests'] as const)
      .map((side) => `${side}.${name} ${defaults[side][name] ?? 'unset'}`)
      .join(', ');
    return {
      rule: `${limit} == '' || ${request} == '' || ${atLeast(limit, request)}`,
      message: `limits.${name} must be at least requests.${name} (defaults: ${shown}): raise the limit or lower the request`,
    };
  });
  return cel(both, ...defaulted);
}

/** Unprefixed names a container may use (the API server's IsStandardContainerResourceName). */
const standardResources = ['cpu', 'memory', 'ephemeral-storage'];

const resourceList = (what: string) =>
  boundedRecord(quantity, maxResources)
    .meta(
      cel({
        rule:
          `self.all(k, ${isQualifiedName('k')} && (k.contains('/') || ` +
          `k in [${standardResources.map((r) => `'${r}'`).join(', ')}] || k.startsWith('hugepages-')))`,
        message:
          `resource names must be ${standardResources.join(', ')}, hugepages-<size>, or ` +
          `prefixed qualified names (${qualifiedNameHint})`,
      }),
    )
    .optional()
    .describe(what);

/** E.g. "requests cpu 4, memory 24Gi; limits memory 32Gi". */
export function defaultsText(defaults: ResourceDefaults): string {
  const side = (list: Readonly<Record<string, string>>) =>
    Object.entries(list)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  return `requests ${side(defaults.requests)}; limits ${side(defaults.limits)}`;
}

/** The optional `resources` object of one container, judged against its defaults. */
export function containerResources(
  defaults: ResourceDefaults,
  examples: { requests: string; limits: string },
) {
  return z
    .object({ requests: resourceList(examples.requests), limits: resourceList(examples.limits) })
    .strict()
    .meta(resourceRules(defaults))
    .optional();
}
