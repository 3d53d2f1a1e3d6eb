/** The operator's Prometheus metrics (prefix zimage_operator_). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'zimage_operator_' });
  return {
    registry,
    reconciles: new Counter({
      name: 'zimage_operator_reconciles_total',
      help: 'Reconciles by result (success, requeue, error, terminal).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: 'zimage_operator_reconcile_duration_seconds',
      help: 'Duration of one reconcile.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    // From ready to a worker: at 1000 objects created at once the first reconciles wait
    // minutes behind 4 workers, hence buckets up to 10 min.
    queueWait: new Histogram({
      name: 'zimage_operator_queue_wait_seconds',
      help: 'How long an object key waited in the queue before a worker took it.',
      buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'zimage_operator_queue_depth',
      help: 'Object keys waiting to be reconciled.',
      registers: [registry],
    }),
    watchRestarts: new Counter({
      name: 'zimage_operator_watch_restarts_total',
      help: 'Informer restarts by resource and reason (error, watchdog, relist).',
      labelNames: ['resource', 'reason'] as const,
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'zimage_operator_leader',
      help: '1 while this process holds the leader Lease.',
      registers: [registry],
    }),
    apiRequestDuration: new Histogram({
      name: 'zimage_operator_api_request_duration_seconds',
      help: 'Kubernetes API request latency as the operator saw it, by verb.',
      labelNames: ['verb'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    apiRequests: new Counter({
      name: 'zimage_operator_api_requests_total',
      help: 'Kubernetes API requests the operator made, by verb and HTTP code.',
      labelNames: ['verb', 'code'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
