/**
 * `namespace/name`, the key of a namespaced object in work queues, caches, signal samples and
 * logs (client-go's cache.MetaNamespaceKeyFunc spells it so too). Written and read only here.
 */

export interface ObjectRef {
  namespace: string;
  name: string;
}

/**
 * Takes metadata as the client types it (both fields optional): a namespaced object the API
 * server returns always has both.
 */
export function keyOf(ref: Partial<ObjectRef>): string {
  return `${ref.namespace}/${ref.name}`;
}

/** "ml/turbo" -> {namespace: 'ml', name: 'turbo'}. Neither part may hold a '/'. */
export function parseKey(key: string): ObjectRef {
  const [namespace = '', name = ''] = key.split('/');
  return { namespace, name };
}
