/**
 * A container's environment as kubelet renders it: envFrom, then env in order (later wins),
 * `$(VAR)` expanded from what is defined before, and the downward API (fieldRef,
 * resourceFieldRef). ConfigMap and Secret values come through `lookup`, so the rendering
 * itself stays pure. Anything unsupported is an error naming the field, like kubelet's
 * CreateContainerConfigError.
 */
import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import { quantityValue } from '../../src/formats/quantity.ts';

/** Reads one ConfigMap's or Secret's data (Secrets decoded); undefined when it does not exist. */
export type DataLookup = (
  kind: 'ConfigMap' | 'Secret',
  namespace: string,
  name: string,
) => Promise<Record<string, string> | undefined>;

export class ContainerConfigError extends Error {
  override name = 'ContainerConfigError';
}

const sortedMap = (map: Record<string, string> | undefined) =>
  Object.entries(map ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join('\n');

/** The fieldPaths kubelet's downward API resolves (fieldpath.ExtractFieldPathAsString). */
const fields: Record<string, (pod: V1Pod) => string> = {
  'metadata.name': (p) => p.metadata?.name ?? '',
  'metadata.namespace': (p) => p.metadata?.namespace ?? '',
  'metadata.uid': (p) => p.metadata?.uid ?? '',
  'metadata.labels': (p) => sortedMap(p.metadata?.labels),
  'metadata.annotations': (p) => sortedMap(p.metadata?.annotations),
  'spec.nodeName': (p) => p.spec?.nodeName ?? '',
  'spec.serviceAccountName': (p) => p.spec?.serviceAccountName ?? '',
  'status.hostIP': (p) => p.status?.hostIP ?? '',
  'status.hostIPs': (p) => (p.status?.hostIPs ?? []).map((i) => i.ip).join(','),
  'status.podIP': (p) => p.status?.podIP ?? '',
  'status.podIPs': (p) => (p.status?.podIPs ?? []).map((i) => i.ip).join(','),
};

/** Value of a downward API fieldPath, or ContainerConfigError for one kubelet would refuse. */
export function fieldValue(pod: V1Pod, fieldPath: string): string {
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (keyed) {
    const map = keyed[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[keyed[2]!] ?? '';
  }
  const get = fields[fieldPath];
  if (!get) throw new ContainerConfigError(`unsupported fieldPath "${fieldPath}"`);
  return get(pod);
}

/**
 * resourceFieldRef: requests/limits of cpu, memory or ephemeral-storage, divided by the
 * divisor and rounded up; an unset limit reads as the node's allocatable, as in kubelet.
 */
export function resourceValue(
  container: V1Container,
  ref: { resource: string; divisor?: string | number },
  allocatable: Record<string, string>,
): string {
  const [kind, resource] = ref.resource.split('.', 2) as [string, string | undefined];
  if ((kind !== 'limits' && kind !== 'requests') || !resource) {
    throw new ContainerConfigError(`unsupported resource "${ref.resource}"`);
  }
  const own = container.resources?.[kind]?.[resource];
  const fallback = kind === 'limits' ? allocatable[resource] : '0';
  const text = own === undefined ? fallback : String(own);
  if (text === undefined) {
    throw new ContainerConfigError(`no ${ref.resource} and no node allocatable "${resource}"`);
  }
  const divisor = quantityValue(String(ref.divisor ?? '1'));
  if (divisor <= 0) throw new ContainerConfigError(`divisor must be positive`);
  // cpu "500m" with divisor 1 is 1 (kubelet rounds up to whole divisors).
  return String(Math.ceil(quantityValue(text) / divisor - 1e-9));
}

/** `$(NAME)` from `defined`, `$$(` stays a literal `$(`; unknown names stay as written. */
export function expand(value: string, defined: ReadonlyMap<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name?: string) => {
    if (match === '$$') return '$';
    return defined.get(name!) ?? match;
  });
}

async function sourceValue(
  pod: V1Pod,
  container: V1Container,
  env: V1EnvVar,
  lookup: DataLookup,
  allocatable: Record<string, string>,
): Promise<string | undefined> {
  const from = env.valueFrom!;
  if (from.fieldRef) return fieldValue(pod, from.fieldRef.fieldPath);
  if (from.resourceFieldRef) return resourceValue(container, from.resourceFieldRef, allocatable);
  const keyRef = from.configMapKeyRef ?? from.secretKeyRef;
  if (keyRef) {
    const kind = from.configMapKeyRef ? 'ConfigMap' : 'Secret';
    const data = await lookup(kind, pod.metadata!.namespace!, keyRef.name ?? '');
    const value = data?.[keyRef.key];
    if (value === undefined && !keyRef.optional) {
      throw new ContainerConfigError(
        data
          ? `${kind} "${keyRef.name}" has no key "${keyRef.key}"`
          : `${kind} "${keyRef.name}" not found`,
      );
    }
    return value;
  }
  throw new ContainerConfigError('valueFrom names no source the local pod runner supports');
}

async function renderEnvFrom(
  pod: V1Pod,
  container: V1Container,
  at: string,
  lookup: DataLookup,
  out: Map<string, string>,
): Promise<void> {
  for (const [i, source] of (container.envFrom ?? []).entries()) {
    const ref = source.configMapRef ?? source.secretRef;
    const kind = source.configMapRef ? 'ConfigMap' : 'Secret';
    if (!ref) throw new ContainerConfigError(`${at}.envFrom[${i}]: no configMapRef or secretRef`);
    const data = await lookup(kind, pod.metadata!.namespace!, ref.name ?? '');
    if (!data && !ref.optional) {
      throw new ContainerConfigError(`${at}.envFrom[${i}]: ${kind} "${ref.name}" not found`);
    }
    for (const [k, v] of Object.entries(data ?? {})) out.set(`${source.prefix ?? ''}${k}`, v);
  }
}

/** Render the container's environment, or throw ContainerConfigError naming the field. */
export async function renderEnv(
  pod: V1Pod,
  index: number,
  lookup: DataLookup,
  allocatable: Record<string, string> = {},
): Promise<Map<string, string>> {
  const container = pod.spec!.containers[index]!;
  const at = `spec.containers[${index}]`;
  const out = new Map<string, string>();
  await renderEnvFrom(pod, container, at, lookup, out);
  for (const [i, env] of (container.env ?? []).entries()) {
    try {
      const value = env.valueFrom
        ? await sourceValue(pod, container, env, lookup, allocatable)
        : expand(env.value ?? '', out);
      if (value !== undefined) out.set(env.name, value);
    } catch (err) {
      if (!(err instanceof ContainerConfigError)) throw err;
      throw new ContainerConfigError(`${at}.env[${i}] (${env.name}): ${err.message}`, {
        cause: err,
      });
    }
  }
  return out;
}
