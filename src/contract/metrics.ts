/**
 * Metric names the runtime exposes and the operator (its PrometheusRule, its signal sources)
 * reads, plus the names of NVIDIA's dcgm-exporter that the operator reads and the local fleet's
 * stand-in serves. One spelling each; a rename here renames it on both sides.
 */
import { instanceLabel } from './labels.ts';

/** Prefix of every runtime metric, Node's process metrics included. */
export const runtimeMetricPrefix = 'zimage_';

/** The runtime's own metrics (src/runtime/metrics.ts registers them under these names). */
export const runtimeMetrics = {
  /** Histogram, seconds in the engine per image; the slow-generation rule's p95. */
  generationDuration: 'zimage_generation_duration_seconds',
  stepDuration: 'zimage_step_duration_seconds',
  requestDuration: 'zimage_request_duration_seconds',
  /** Gauge, requests admitted and waiting. */
  queueDepth: 'zimage_queue_depth',
  inflight: 'zimage_inflight_requests',
  requests: 'zimage_requests_total',
  images: 'zimage_images_total',
  warmup: 'zimage_warmup_seconds',
  oom: 'zimage_oom_total',
  configInfo: 'zimage_config_info',
  configErrors: 'zimage_config_errors_total',
  residentSessions: 'zimage_resident_sessions',
  ready: 'zimage_ready',
} as const;

/**
 * The router's metrics (src/router/metrics.ts), what the autoscaler reads of the client's view:
 * the wait per image (router queue + generation), arrivals, and the work queued in the router.
 */
export const routerMetrics = {
  /** Histogram, seconds from a request's arrival at the router to each of its images' answer. */
  wait: 'zimage_router_image_wait_seconds',
  /** Counters of arrivals: requests, and the images they ask for (admitted or not). */
  arrivedRequests: 'zimage_router_arrived_requests_total',
  arrivedImages: 'zimage_router_arrived_images_total',
  /** Counter: their expected engine seconds (the demand the autoscaler scales to). */
  arrivedWork: 'zimage_router_arrived_work_seconds_total',
  /** Counter of answers by HTTP status. */
  requests: 'zimage_router_requests_total',
  /** Gauges: images waiting in the router for a pod, and their expected engine seconds. */
  queuedImages: 'zimage_router_queued_images',
  queuedWork: 'zimage_router_queued_work_seconds',
  /** Gauge: images on pods, not yet answered. */
  inflightImages: 'zimage_router_inflight_images',
  /** Counter of images sent, by pod. */
  dispatches: 'zimage_router_dispatches_total',
  /** Counter of images sent again to another pod, by reason (refused, draining, busy, connection). */
  retries: 'zimage_router_retries_total',
  /** Counter of requests refused at admission, by reason (queue_full, would_miss_deadline, draining). */
  refusals: 'zimage_router_refusals_total',
  /** Gauge: runtime pods the router knows, by whether they take work. */
  pods: 'zimage_router_pods',
} as const;

/**
 * Buckets of the client-wait histogram, seconds: fine below 15 s (the seed's "more than 15 s
 * per image" must be readable as a quantile, not only a bucket edge) and on to the 120 s
 * default deadline, past which nothing is answered but 504.
 */
export const routerWaitBuckets = [0.5, 1, 2, 3, 5, 7.5, 10, 12.5, 15, 20, 30, 45, 60, 90, 120, 180];

/**
 * dcgm-exporter's fields (its default counters CSV), with the units it reports them in.
 * The names are NVIDIA's; the operator never renames them.
 */
export const dcgmMetrics = {
  /** Percent 0..100 of the sample period a kernel ran. */
  gpuUtil: 'DCGM_FI_DEV_GPU_UTIL',
  /** Framebuffer used, MiB (not bytes). */
  fbUsed: 'DCGM_FI_DEV_FB_USED',
  /** Framebuffer free, MiB; used + free is the card's (or MIG slice's) memory. */
  fbFree: 'DCGM_FI_DEV_FB_FREE',
  /** Ratio 0..1 of time the graphics engine was active (profiling metric; x 100 for percent). */
  grEngineActive: 'DCGM_FI_PROF_GR_ENGINE_ACTIVE',
  /** Watts. */
  powerUsage: 'DCGM_FI_DEV_POWER_USAGE',
  /** Percent 0..100 of the sample period the memory copy engine was busy. */
  memCopyUtil: 'DCGM_FI_DEV_MEM_COPY_UTIL',
  /** Value of the last XID error (0: none). */
  xidErrors: 'DCGM_FI_DEV_XID_ERRORS',
} as const;

/**
 * Labels on every dcgm-exporter series. pod, namespace and container name the pod that holds
 * the GPU; dcgm-exporter adds them only with DCGM_EXPORTER_KUBERNETES=true, and a Prometheus
 * scrape keeps them only with honorLabels (else they become exported_pod, exported_namespace).
 */
export const dcgmLabels = {
  gpu: 'gpu',
  uuid: 'UUID',
  device: 'device',
  modelName: 'modelName',
  hostname: 'Hostname',
  pciBusId: 'pci_bus_id',
  pod: 'pod',
  namespace: 'namespace',
  container: 'container',
} as const;

/**
 * Target labels on every runtime series, as the ServiceMonitor (or the local cluster's
 * Kubernetes service discovery) writes them. `deployment` names the ZImageDeployment: copied
 * from the pod's instance label, so `<name>-canary`'s pods never match `<name>`.
 * Not `instance`: Prometheus already uses that label for the target's address.
 */
export const seriesLabels = {
  namespace: 'namespace',
  pod: 'pod',
  deployment: 'zimage_deployment',
} as const;

/**
 * Service discovery's meta label holding the pod's instance label: Prometheus writes pod label
 * `a.b/c` as `__meta_kubernetes_pod_label_a_b_c`. The relabeling source of seriesLabels.deployment.
 */
export const instanceMetaLabel = `__meta_kubernetes_pod_label_${instanceLabel.replace(/[^a-zA-Z0-9_]/g, '_')}`;
