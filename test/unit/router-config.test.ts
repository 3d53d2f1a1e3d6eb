/** The router's environment: defaults, and every bad variable named in one error. */
import { describe, expect, it } from 'vitest';
import { loadRouterConfig } from '../../src/router/config.ts';

const selector = {
  ZIMAGE_ROUTER_POD_SELECTOR: 'app.kubernetes.io/name=zimage-runtime',
  ZIMAGE_NAMESPACE: 'ml',
};

describe('router config', () => {
  it('defaults: the runtime limits and deadline, 64 queued images, one slot per pod', () => {
    expect(loadRouterConfig(selector)).toMatchObject({
      port: 8080,
      maxQueue: 64,
      slots: 1,
      requestTimeoutSeconds: 120,
      shutdownGraceSeconds: 125,
      maxResolution: { width: 1024, height: 1024 },
      maxImagesPerRequest: 4,
    });
  });

  it('a static list of runtime URLs instead of a selector', () => {
    const config = loadRouterConfig({
      ZIMAGE_ROUTER_PODS: 'http://127.0.0.1:8081/, http://127.0.0.1:8082',
    });
    expect(config.staticPods).toEqual(['http://127.0.0.1:8081', 'http://127.0.0.1:8082']);
  });

  it.each<[string, Record<string, string>, RegExp]>([
    [
      'neither a selector nor pods',
      {},
      /ZIMAGE_ROUTER_POD_SELECTOR: set this .* or ZIMAGE_ROUTER_PODS/,
    ],
    [
      'both',
      { ...selector, ZIMAGE_ROUTER_PODS: 'http://a' },
      /ZIMAGE_ROUTER_POD_SELECTOR: set this/,
    ],
    [
      'a selector without its namespace',
      { ZIMAGE_ROUTER_POD_SELECTOR: 'a=b' },
      /ZIMAGE_NAMESPACE: is required/,
    ],
    [
      'a pod URL that is not http',
      { ZIMAGE_ROUTER_PODS: 'ftp://x' },
      /ZIMAGE_ROUTER_PODS: "ftp:\/\/x" is not an http/,
    ],
    ['zero slots', { ...selector, ZIMAGE_ROUTER_POD_SLOTS: '0' }, /ZIMAGE_ROUTER_POD_SLOTS:/],
    [
      'a queue bound that is not a number',
      { ...selector, ZIMAGE_ROUTER_MAX_QUEUE: 'lots' },
      /ZIMAGE_ROUTER_MAX_QUEUE:/,
    ],
    [
      'a size with a leading zero',
      { ...selector, ZIMAGE_MAX_RESOLUTION: '01024x1024' },
      /ZIMAGE_MAX_RESOLUTION:/,
    ],
    ['an unknown log level', { ...selector, ZIMAGE_LOG_LEVEL: 'loud' }, /ZIMAGE_LOG_LEVEL:/],
  ])('refuses %s, naming the variable', (_name, env, message) => {
    expect(() => loadRouterConfig(env)).toThrow(message);
  });
});
