/**
 * The router's Prometheus metrics, on their own Registry, named in src/contract/metrics.ts
 * (the autoscaler and the PrometheusRule read the same names). Labels stay bounded: status
 * codes, fixed reason lists, and pod names (one series per runtime pod of one deployment).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { routerMetrics, routerWaitBuckets } from '../contract/metrics.ts';
import { retryReasons } from './dispatch/types.ts';

export const refusalReasons = ['queue_full', 'would_miss_deadline', 'draining'] as const;
export type RefusalReason = (typeof refusalReasons)[number];

export function createRouterMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'zimage_router_' });
  const m = {
    registry,
    wait: new Histogram({
      name: routerMetrics.wait,
      help: "The client's wait per image: seconds from the request's arrival at the router to the image's answer (router queue + pod queue + generation).",
      buckets: routerWaitBuckets,
      registers: [registry],
    }),
    arrivedRequests: new Counter({
      name: routerMetrics.arrivedRequests,
      help: 'Generation requests that arrived with a valid body, admitted or not.',
      registers: [registry],
    }),
    arrivedImages: new Counter({
      name: routerMetrics.arrivedImages,
      help: 'Images those requests asked for (n per request).',
      registers: [registry],
    }),
    arrivedWork: new Counter({
      name: routerMetrics.arrivedWork,
      help: 'Expected engine seconds of the images those requests asked for, at the live steps and the rates learned from the pods: its rate is the demand in GPUs kept busy.',
      registers: [registry],
    }),
    requests: new Counter({
      name: routerMetrics.requests,
      help: 'Generation requests answered, by HTTP status.',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    queuedImages: new Gauge({
      name: routerMetrics.queuedImages,
      help: 'Images waiting in the router for a pod with a free slot.',
      registers: [registry],
    }),
    queuedWork: new Gauge({
      name: routerMetrics.queuedWork,
      help: 'Expected engine seconds of the images waiting in the router, at the rates learned from the pods.',
      registers: [registry],
    }),
    inflightImages: new Gauge({
      name: routerMetrics.inflightImages,
      help: 'Images sent to pods and not yet answered.',
      registers: [registry],
    }),
    dispatches: new Counter({
      name: routerMetrics.dispatches,
      help: 'Images sent to each pod (a retry counts again).',
      labelNames: ['pod'] as const,
      registers: [registry],
    }),
    retries: new Counter({
      name: routerMetrics.retries,
      help: 'Images sent again to another pod after one refused (429), drained (503), or dropped the connection before answering.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    refusals: new Counter({
      name: routerMetrics.refusals,
      help: 'Requests refused at admission, by reason.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    pods: new Gauge({
      name: routerMetrics.pods,
      help: 'Runtime pods the router knows, by whether they take new work.',
      labelNames: ['accepting'] as const,
      registers: [registry],
    }),
  };
  // Zero series for every bounded label, so a rate() over them exists before the first event.
  for (const reason of retryReasons) m.retries.inc({ reason }, 0);
  for (const reason of refusalReasons) m.refusals.inc({ reason }, 0);
  return m;
}

export type RouterMetrics = ReturnType<typeof createRouterMetrics>;
