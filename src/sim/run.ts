/**
 * One run: a trace through the fleet under one controller, deterministic for a seed.
 */
import type { QualitySettings } from '../operator/api/v1alpha1/status.ts';
import { sameQuality } from '../operator/policy/knobs.ts';
import type { Controller } from './controllers/controller.ts';
import { priorities } from './events.ts';
import { Fleet } from './fleet.ts';
import type { SimModel } from './model.ts';
import type { Trace } from './packed-trace.ts';
import { Recorder, type Sample } from './recorder.ts';
import { ActionCounter, emptyResults, quantile, type Results } from './results.ts';
import { RouterFront } from './router.ts';
import { ServiceWithActivator } from './activator.ts';

/**
 * What stands in front of the pods: a Service picking a Ready pod at random (today), or the
 * router's queue placing each image with pick().
 */
export const routings = ['service', 'router'] as const;
export type Routing = (typeof routings)[number];

export interface RunOptions {
  model: SimModel;
  /** The spec's quality: what every pod starts with. */
  quality: QualitySettings;
  /** Ready pods at the start (a warm fleet). */
  replicas: number;
  seed: number;
  /** Default 'service'. */
  routing?: Routing;
  /**
   * Keep every sample in Run.samples (tests of short runs); by default only the last
   * Recorder.keptSeconds, which is all the controllers read.
   */
  keepSamples?: boolean;
  /** Keep Results.latencies, every served image's (default true; compare() keeps only p95). */
  keepLatencies?: boolean;
}

export interface Run {
  controller: string;
  routing: Routing;
  /** The front as the table names it: the Service, or the router and its queue bound. */
  front: string;
  results: Results;
  log: string[];
  /** The fleet once a second, as its exporters saw it: the last 600 s, or all (keepSamples). */
  samples: readonly Sample[];
}

export function simulate(trace: Trace, controller: Controller, o: RunOptions): Run {
  const results = emptyResults();
  const routing = o.routing ?? 'service';
  let service: ServiceWithActivator | undefined;
  const front =
    routing === 'router'
      ? (f: Fleet) => new RouterFront(f)
      : (f: Fleet) => (service = new ServiceWithActivator(f, o.seed));
  const fleet = new Fleet(o.model, results, o.quality, front);
  fleet.warm(o.replicas);
  const recorder = new Recorder(
    fleet,
    o.model.card.memoryBytes,
    o.keepSamples ? Infinity : undefined,
  );
  const counter = new ActionCounter(results);
  // After the last arrival, one deadline to drain what is queued.
  const end = (trace.at(-1)?.offsetSeconds ?? 0) + o.model.deadlineSeconds;
  let quality = o.quality;
  arrivals(fleet, trace);
  const every = (period: number, priority: number, run: () => void) => {
    const tick = (t: number) =>
      fleet.at(
        t,
        () => {
          run();
          if (t + period <= end) tick(t + period);
        },
        priority,
      );
    tick(period);
  };
  every(1, priorities.sample, () => recorder.record());
  every(controller.periodSeconds, priorities.control, () => {
    const command = controller.tick(fleet.now, recorder);
    if (command.replicas !== undefined && command.replicas !== fleet.replicas) {
      counter.replicas(fleet.replicas, command.replicas);
      fleet.scaleTo(command.replicas);
    }
    if (command.activator !== undefined) fleet.front.setActivator?.(command.activator);
    if (command.quality && !sameQuality(command.quality, quality)) {
      counter.quality(quality, command.quality);
      quality = command.quality;
      fleet.setQuality(quality);
    }
  });
  for (let e = fleet.events.pop(); e && e.at <= end; e = fleet.events.pop()) {
    fleet.now = e.at;
    e.run();
  }
  fleet.now = end;
  fleet.close();
  results.seconds = end;
  results.p95 = quantile(results.latencies, 0.95);
  if (o.keepLatencies === false) results.latencies = [];
  return {
    controller: controller.name,
    routing,
    front:
      routing === 'router'
        ? `router, queue ${o.model.routerMaxQueue}`
        : service?.activated
          ? 'Service + activator'
          : 'random (Service)',
    results,
    log: controller.log,
    samples: recorder.samples,
  };
}

/** Each arrival schedules the next: one pending event for the trace, whatever its length. */
function arrivals(fleet: Fleet, trace: Trace): void {
  let next = 0;
  const schedule = () => {
    const row = trace.at(next++);
    if (!row) return;
    fleet.at(
      row.offsetSeconds,
      () => {
        fleet.arrive(row);
        schedule();
      },
      priorities.arrival,
    );
  };
  schedule();
}
