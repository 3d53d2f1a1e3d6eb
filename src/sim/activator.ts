/**
 * Knative's activator, behind the Service, as the KPA switches it (knative/serving,
 * pkg/reconciler/autoscaling/kpa/kpa.go): the SKS is in Proxy mode, the activator in the
 * request path, unless the PA wants pods and the decider's excess burst capacity is >= 0
 * (Serve mode: the Service's random spread alone). With target-burst-capacity 211 and
 * containerConcurrency 1, EBC = floor(ready x 1 - 211 - panic concurrency) is negative below
 * 212 Ready pods: on a GPU fleet the activator stays in the path.
 *
 * In the path it holds every request (its breaker queues up to 10000; beyond that 503) and
 * sends each to a pod with a free concurrency slot: with containerConcurrency 1 (<= 3) the
 * first available pod in its list (pkg/activator/net/throttler.go, firstAvailableLBPolicy),
 * one request at a time per pod, n images back to back. With no Ready pod it waits (no 503).
 * Its per-pod breakers count the requests it sent; here a pod is free when it runs and holds
 * nothing, the same whenever the activator has been in the path since the pod's work began.
 * A request past the deadline from its arrival fails (504): the revision's timeoutSeconds,
 * set to the runtime's request timeout.
 */
import type { Fleet, Front, Job, Pod, Request } from './fleet.ts';
import { inflight, PullQueue, type Admission } from './pull-queue.ts';
import type { Fate } from './results.ts';
import { ServiceFront } from './service.ts';

/** pkg/activator/net/throttler.go breakerQueueDepth. */
export const activatorQueueDepth = 10_000;
/** containerConcurrency 1: one image (one request) at a time per pod. */
const containerConcurrency = 1;

export class Activator extends PullQueue {
  protected admit(): Admission {
    return this.queue.length < activatorQueueDepth
      ? { admit: true }
      : { admit: false, retryAfterSeconds: 1, fate: 'unavailable' };
  }

  protected jobsOf(row: Request): Request[] {
    return [row];
  }

  protected place(): Pod | undefined {
    return this.fleet.pods.find((p) => p.phase === 'Ready' && inflight(p) < containerConcurrency);
  }
}

/**
 * A Service front that Knative's activator joins and leaves (setActivator, from the KPA's
 * command each tick). Without one in the path it is the Service's random spread, exactly; a
 * request held by the activator stays with it when it leaves the path. A retry (429, 503)
 * comes back through whatever is in the path then.
 */
export class ServiceWithActivator implements Front {
  private readonly service: ServiceFront;
  private readonly activator: Activator;
  private proxy = false;
  /** Whether the activator was ever in the path: the front the table names. */
  activated = false;

  constructor(fleet: Fleet, seed: number) {
    this.activator = new Activator(fleet);
    this.service = new ServiceFront(fleet, seed, (job) => this.retry(job));
  }

  get waiting(): number {
    return this.activator.waiting;
  }

  /** Knative exports no demand the policy reads: the policy never runs behind this front. */
  readonly routed = false;
  readonly queuedWork = 0;

  setActivator(inPath: boolean): void {
    this.proxy = inPath;
    this.activated ||= inPath;
  }

  arrive(row: Request): void {
    if (this.proxy) this.activator.arrive(row);
    else this.service.arrive(row);
  }

  podFree(): void {
    this.activator.podFree();
  }

  served(job: Job, passes: number): void {
    this.frontOf(job).served(job, passes);
  }

  lost(job: Job, fate: Exclude<Fate, 'ok'>): void {
    this.frontOf(job).lost(job, fate);
  }

  private frontOf(job: Job): Front {
    return this.activator.owns(job) ? this.activator : this.service;
  }

  private retry(job: Job): void {
    if (this.proxy) this.activator.enter(job.row, job.arrival, job.attempt);
    else this.service.route(job);
  }
}
