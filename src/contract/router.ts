/**
 * What the operator renders for the router and the router reads: its own environment variables
 * (the runtime's limits and deadline keep the runtime's names, src/contract/runtime.ts) and its
 * entry point inside the image.
 */
import { authEnv } from './auth.ts';
import { runtimeEnv } from './runtime.ts';

/** Variables only the router reads. */
export const routerEnv = {
  /** Label selector of the runtime pods it sends work to (discovered through the API). */
  podSelector: 'ZIMAGE_ROUTER_POD_SELECTOR',
  /**
   * Or a fixed list of runtime URLs, comma-separated, without Kubernetes: a router in front of
   * runtimes started by hand (docs/router.md), and the benchmarks.
   */
  staticPods: 'ZIMAGE_ROUTER_PODS',
  /** Images that may wait in the router beyond what the pods take at once. */
  maxQueue: 'ZIMAGE_ROUTER_MAX_QUEUE',
  /** Images the router keeps on one pod at once. */
  slots: 'ZIMAGE_ROUTER_POD_SLOTS',
  /** Seconds a new pod takes to serve: the Retry-After while no pod is Ready. */
  podStartSeconds: 'ZIMAGE_ROUTER_POD_START_SECONDS',
  host: 'ZIMAGE_HOST',
  port: runtimeEnv.port,
  logLevel: 'ZIMAGE_LOG_LEVEL',
  tokenGraceSeconds: authEnv.tokenGraceSeconds,
  maxImagesPerRequest: runtimeEnv.maxImagesPerRequest,
  bodyLimitBytes: 'ZIMAGE_BODY_LIMIT_BYTES',
  shutdownGraceSeconds: 'ZIMAGE_SHUTDOWN_GRACE_SECONDS',
} as const;

/**
 * The router's pod start when the operator renders none: the card model's estimate for the
 * default spec (H100, 1024x1024, 9 steps, bf16: 102.2 s of weights at 200 MB/s + a 1.2 s
 * warm-up image = 103.4 s, src/contract/pod-start.ts). The operator renders
 * ZIMAGE_ROUTER_POD_START_SECONDS only for specs whose estimate rounds to another value.
 */
export const defaultPodStartSeconds = 103;

/** The router's entry point, relative to the image's working directory (/app). */
export const routerMain = 'src/router/main.ts';
