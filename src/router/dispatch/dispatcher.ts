/**
 * The router's queue: requests are split into images (fanout.ts), images wait here in arrival
 * order, and each goes to a pod when `pick()` finds one with a free slot. A request is answered
 * when all its images are back, in order.
 *
 * Faults: an image a pod refused (429/503), or whose connection failed or reset before the pod
 * answered, goes back to the head of the queue for another pod, once (generation has no side
 * effects, so a second run is safe); a second failure fails its request. Any other answer
 * (400, 422, 500, 504) fails the request with the pod's own answer. The request's deadline
 * (from its arrival here) and its client going away cancel its queued and running images.
 *
 * Time comes from the injected clock; the HTTP call to a pod from the injected `send`; so the
 * queue is tested with a fake clock and fake pods, and the real router wires undici in.
 */
import type { TimerHandle } from '../../contract/clock.ts';
import { WaitEstimator } from '../../contract/wait-estimate.ts';
import { admit, type Admission, type FleetLoad } from './admission.ts';
import { fanOut, type FanOutRequest, type ImageSpec } from './fanout.ts';
import { pick, type PodView } from './pick.ts';
import {
  RequestFailure,
  type DispatcherOptions,
  type ImageDone,
  type PodTarget,
  type SendOutcome,
} from './types.ts';

interface Job {
  spec: ImageSpec;
  index: number;
  request: Pending;
  attempts: number;
  /** Pods that refused or dropped it: the retry goes elsewhere. */
  tried: Set<string>;
  enqueuedAt: number;
  controller?: AbortController;
}

interface Pending {
  arrivedAt: number;
  done: (ImageDone | undefined)[];
  left: number;
  jobs: Job[];
  timer: TimerHandle | undefined;
  settled: boolean;
  resolve(images: ImageDone[]): void;
  reject(err: RequestFailure): void;
}

interface PodState extends PodTarget {
  /** Still in discovery's list; a pod that left is kept only until its images are back. */
  listed: boolean;
  inflight: Map<Job, { startedAt: number; expectedMs: number }>;
  reported: { backlogMs: number; at: number } | undefined;
  estimator: WaitEstimator;
  lastDispatchAt: number;
}

/** A pod may take this many tries for one image in all: the first, and one retry. */
const maxAttempts = 2;

export class Dispatcher {
  private readonly queue: Job[] = [];
  private readonly pods = new Map<string, PodState>();
  /** Fleet-wide rates, for admission: pods of one spec run one model on one card type. */
  private readonly fleet = new WaitEstimator();
  private liveSteps: number;
  private draining = false;
  private readonly idleWaiters: (() => void)[] = [];
  private readonly o: DispatcherOptions;

  constructor(options: DispatcherOptions) {
    this.o = options;
    this.liveSteps = options.defaultSteps;
  }

  /** Replace the pod list (discovery). A pod gone or not accepting gets nothing new at once. */
  setPods(targets: readonly PodTarget[]): void {
    const seen = new Set<string>();
    for (const t of targets) {
      seen.add(t.name);
      const known = this.pods.get(t.name);
      if (known) Object.assign(known, { url: t.url, accepting: t.accepting, listed: true });
      else
        this.pods.set(t.name, {
          ...t,
          listed: true,
          inflight: new Map(),
          reported: undefined,
          estimator: new WaitEstimator(this.fleet.rates()),
          lastDispatchAt: -Infinity,
        });
    }
    for (const [name, pod] of this.pods) {
      if (seen.has(name)) continue;
      pod.accepting = false;
      pod.listed = false;
      if (pod.inflight.size === 0) this.pods.delete(name);
    }
    this.pump();
  }

  /** Admit a request or refuse it at once; the promise settles when every image is back. */
  submit(request: FanOutRequest, signal?: AbortSignal): Promise<ImageDone[]> {
    if (this.draining) {
      return Promise.reject(
        new RequestFailure(503, 'draining', 'not ready: the router is shutting down', {
          retryAfterSeconds: 1,
        }),
      );
    }
    this.o.hooks?.onArrival?.((request.n * this.fleetImageMs(request, this.o.defaultSteps)) / 1000);
    const verdict = this.admission(request);
    if (!verdict.admit) {
      return Promise.reject(
        new RequestFailure(429, verdict.reason, verdict.message, {
          retryAfterSeconds: verdict.retryAfterSeconds,
        }),
      );
    }
    return new Promise<ImageDone[]>((resolve, reject) => {
      const now = this.o.clock.now();
      const pending: Pending = {
        arrivedAt: now,
        done: new Array<ImageDone | undefined>(request.n).fill(undefined),
        left: request.n,
        jobs: [],
        timer: undefined,
        settled: false,
        resolve,
        reject,
      };
      pending.jobs = fanOut(request).map((spec, index) => ({
        spec,
        index,
        request: pending,
        attempts: 0,
        tried: new Set<string>(),
        enqueuedAt: now,
      }));
      pending.timer = this.o.clock.setTimeout(() => {
        const s = Math.round(this.o.limits.deadlineMs / 1000);
        this.fail(
          pending,
          new RequestFailure(504, 'deadline_exceeded', `deadline of ${s} s passed`),
        );
      }, this.o.limits.deadlineMs);
      signal?.addEventListener(
        'abort',
        () => this.fail(pending, new RequestFailure(499, 'client_closed', 'the client went away')),
        { once: true },
      );
      this.queue.push(...pending.jobs);
      this.pump();
      this.changed();
    });
  }

  /** What admission and the metrics see. */
  load(): FleetLoad {
    const now = this.o.clock.now();
    let acceptingPods = 0;
    let freeSlots = 0;
    let busyMs = 0;
    for (const pod of this.pods.values()) {
      if (!pod.accepting) continue;
      acceptingPods++;
      freeSlots += Math.max(0, this.o.slots - pod.inflight.size);
      busyMs += this.busyMs(pod, now);
    }
    return {
      acceptingPods,
      freeSlots,
      busyMs,
      queuedImages: this.queue.length,
      queuedMs: this.queuedMs(),
    };
  }

  /** Stop admitting; resolve once every admitted request has been answered. */
  drain(): Promise<void> {
    this.draining = true;
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  /** Requests admitted and not yet answered (images in the queue or on pods). */
  outstanding(): number {
    const requests = new Set<Pending>(this.queue.map((j) => j.request));
    for (const pod of this.pods.values())
      for (const job of pod.inflight.keys()) requests.add(job.request);
    return requests.size;
  }

  private admission(request: FanOutRequest): Admission {
    const imageMs = this.fleetImageMs(request, this.liveSteps);
    return admit({ images: request.n, imageMs }, this.load(), {
      podStartMs: 0,
      ...this.o.limits,
    });
  }

  private pump(): void {
    for (let i = 0; i < this.queue.length;) {
      if (!this.anyFreeSlot()) break;
      const job = this.queue[i]!;
      const pod = this.place(job);
      if (!pod) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      this.dispatch(job, pod);
    }
    this.changed();
  }

  private anyFreeSlot(): boolean {
    for (const pod of this.pods.values())
      if (pod.accepting && pod.inflight.size < this.o.slots) return true;
    return false;
  }

  private place(job: Job): PodState | undefined {
    const now = this.o.clock.now();
    const views: PodView[] = [];
    for (const pod of this.pods.values()) {
      views.push({
        name: pod.name,
        accepting: pod.accepting && !job.tried.has(pod.name),
        inflight: pod.inflight.size,
        slots: this.o.slots,
        busyMs: this.busyMs(pod, now),
        imageMs: this.imageMs(pod, job.spec),
        lastDispatchAt: pod.lastDispatchAt,
      });
    }
    const name = pick(views);
    return name === undefined ? undefined : this.pods.get(name);
  }

  private dispatch(job: Job, pod: PodState): void {
    const now = this.o.clock.now();
    job.attempts++;
    job.controller = new AbortController();
    pod.inflight.set(job, { startedAt: now, expectedMs: this.imageMs(pod, job.spec) });
    pod.lastDispatchAt = now;
    this.o.hooks?.onDispatch?.(pod.name);
    this.o
      .send(pod, job.spec, job.controller.signal)
      .catch((err: unknown): SendOutcome => ({
        kind: 'retry',
        reason: 'connection',
        detail: String(err),
      }))
      .then((outcome) => this.answered(job, pod, outcome))
      .catch(() => undefined);
  }

  private answered(job: Job, pod: PodState, outcome: SendOutcome): void {
    pod.inflight.delete(job);
    if (!pod.listed && pod.inflight.size === 0) this.pods.delete(pod.name);
    const pending = job.request;
    if (!pending.settled) {
      if (outcome.kind === 'ok') this.succeeded(job, pod, outcome);
      else if (outcome.kind === 'retry') this.retryOrFail(job, pod, outcome);
      else
        this.fail(
          pending,
          new RequestFailure(
            outcome.status,
            'pod_error',
            `pod ${pod.name} answered ${outcome.status}`,
            {
              pod: outcome,
            },
          ),
        );
    }
    this.afterAnswer();
  }

  private succeeded(job: Job, pod: PodState, outcome: Extract<SendOutcome, { kind: 'ok' }>): void {
    const pending = job.request;
    const now = this.o.clock.now();
    const timing = {
      width: job.spec.width,
      height: job.spec.height,
      steps: outcome.steps,
      denoiseMs: outcome.denoiseMs,
      totalMs: outcome.totalMs,
    };
    pod.estimator.observe(timing);
    this.fleet.observe(timing);
    if (job.spec.steps === undefined) this.liveSteps = outcome.steps;
    if (outcome.backlogMs !== undefined) pod.reported = { backlogMs: outcome.backlogMs, at: now };
    const waitMs = now - pending.arrivedAt;
    pending.done[job.index] = {
      index: job.index,
      pod: pod.name,
      body: outcome.body,
      steps: outcome.steps,
      waitMs,
      queueMs: Math.max(0, waitMs - outcome.totalMs),
    };
    this.o.hooks?.onImage?.(waitMs / 1000);
    if (--pending.left === 0) this.finish(pending);
  }

  private retryOrFail(
    job: Job,
    pod: PodState,
    outcome: Extract<SendOutcome, { kind: 'retry' }>,
  ): void {
    this.o.hooks?.onRetry?.(outcome.reason);
    // A pod that refused or drains has less room than it said: forget its last report.
    if (outcome.reason === 'busy' || outcome.reason === 'draining') pod.reported = undefined;
    job.tried.add(pod.name);
    if (job.attempts < maxAttempts) {
      this.queue.unshift(job);
      return;
    }
    this.fail(
      job.request,
      new RequestFailure(
        503,
        'pods_unavailable',
        `image ${job.index} failed on ${job.attempts} pods (last: ${pod.name}, ${outcome.reason}: ${outcome.detail}); retry shortly`,
        { retryAfterSeconds: 1 },
      ),
    );
  }

  private afterAnswer(): void {
    this.pump();
    this.checkIdle();
  }

  private finish(pending: Pending): void {
    pending.settled = true;
    this.o.clock.clearTimeout(pending.timer);
    pending.resolve(pending.done.filter((d): d is ImageDone => d !== undefined));
    this.checkIdle();
  }

  /** Answer the request now; its queued images leave, its running ones are aborted. */
  private fail(pending: Pending, failure: RequestFailure): void {
    if (pending.settled) return;
    pending.settled = true;
    this.o.clock.clearTimeout(pending.timer);
    for (let i = this.queue.length - 1; i >= 0; i--)
      if (this.queue[i]!.request === pending) this.queue.splice(i, 1);
    for (const job of pending.jobs) job.controller?.abort(failure);
    pending.reject(failure);
    this.changed();
    this.checkIdle();
  }

  private busyMs(pod: PodState, now: number): number {
    let ours = 0;
    for (const { startedAt, expectedMs } of pod.inflight.values())
      ours += Math.max(0, expectedMs - (now - startedAt));
    const reported = pod.reported ? pod.reported.backlogMs - (now - pod.reported.at) : 0;
    return Math.max(ours, reported);
  }

  /**
   * One image's expected engine ms at the rates learned over the fleet, at its own steps or
   * `steps`. Arrivals are priced at the spec's steps (defaultSteps), not the live ones: the
   * demand the autoscaler sizes the fleet for is at full quality, and live steps would shrink
   * it while the quality ladder is down and mix two prices in one window.
   */
  private fleetImageMs(spec: Pick<ImageSpec, 'width' | 'height' | 'steps'>, steps: number) {
    const { width, height } = spec;
    return this.fleet.workMs({ images: 1, width, height, steps: spec.steps ?? steps });
  }

  private imageMs(pod: PodState, spec: ImageSpec): number {
    const steps = spec.steps ?? this.liveSteps;
    return pod.estimator.workMs({ images: 1, width: spec.width, height: spec.height, steps });
  }

  private queuedMs(): number {
    let ms = 0;
    for (const job of this.queue) ms += this.fleetImageMs(job.spec, this.liveSteps);
    return ms;
  }

  private changed(): void {
    this.o.hooks?.onQueueChange?.(this.queue.length, this.queuedMs() / 1000);
  }

  private checkIdle(): void {
    if (!this.draining || this.outstanding() > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
