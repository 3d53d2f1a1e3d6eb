/**
 * The router's front (src/router, docs/router.md), run with the router's own pure functions:
 *
 * - `admit()` takes a request or refuses it at once with 429 and Retry-After: its queue bound,
 *   and a deadline its images would miss by the work ahead shared over the Ready pods.
 * - An admitted request's n images wait in one queue as single-image jobs, in arrival order.
 * - Pull-style: an image leaves the queue only when some Ready pod has a free slot (1 per pod,
 *   so a pod's own queue never holds the router's work), for the pod `pick()` chooses: the one
 *   expected to finish it first.
 * - A request is answered when its last image is back: each of its images waited that long
 *   (the client reads none before the response). Past its deadline, counted from its arrival
 *   at the router, it fails with 504 and its queued images leave the queue.
 *
 * What the real router learns (per-pod rates from the answers, the pods' reported backlog) is
 * exact here: the card model's seconds and what each pod still has to run. An image running for
 * a request that failed runs to its end (the runtime stops at the next step boundary: at most
 * 1 of 9 steps sooner on the H100, ~0.1 s), and is not counted as served.
 */
import { admit, type FleetLoad } from '../router/dispatch/admission.ts';
import { pick, type PodView } from '../router/dispatch/pick.ts';
import type { Fleet, Front, Job, Pod, Request } from './fleet.ts';
import { sum } from './recorder.ts';
import { recordServed, type Fate } from './results.ts';

/** ZIMAGE_ROUTER_POD_SLOTS' default: images the router keeps on one pod at once. */
const slots = 1;

/** A client's request at the router, for one attempt. */
interface Routed {
  row: Request;
  /** First attempt: the client's clock starts here. */
  arrival: number;
  attempt: number;
  /** Images not yet back. */
  left: number;
  /** Transformer passes of the images back, summed. */
  passes: number;
  settled: boolean;
}

export class RouterFront implements Front {
  private readonly fleet: Fleet;
  private queue: Job[] = [];
  private readonly requestOf = new Map<Job, Routed>();
  private readonly lastDispatchMs = new Map<Pod, number>();
  private pumping = false;

  constructor(fleet: Fleet) {
    this.fleet = fleet;
  }

  readonly routed = true;

  get waiting(): number {
    return this.queue.length;
  }

  get queuedWork(): number {
    return sum(this.queue.map((job) => this.fleet.imageSeconds(job.row)));
  }

  arrive(row: Request): void {
    const now = this.fleet.now;
    this.submit({ row, arrival: now, attempt: 0, left: row.n, passes: 0, settled: false });
  }

  podFree(): void {
    this.pump();
  }

  served(job: Job, passes: number): void {
    const request = this.requestOf.get(job);
    this.requestOf.delete(job);
    if (!request || request.settled) return;
    const f = this.fleet;
    f.waited.push({ at: f.now, seconds: f.now - request.arrival });
    request.passes += passes;
    if (--request.left > 0) return;
    request.settled = true;
    const latency = f.now - request.arrival;
    recordServed(f.results, latency, request.row.n, request.passes, f.model.sloSeconds);
  }

  /** A pod's 413 (or its deadline) fails the whole request, as the router passes it back. */
  lost(job: Job, fate: Exclude<Fate, 'ok'>): void {
    const request = this.requestOf.get(job);
    this.requestOf.delete(job);
    if (request) this.fail(request, fate);
  }

  private submit(request: Routed): void {
    const f = this.fleet;
    const { row } = request;
    f.arrivedWork += row.n * f.fullQualitySeconds(row);
    const verdict = admit({ images: row.n, imageMs: 1000 * f.imageSeconds(row) }, this.load(), {
      maxQueuedImages: f.model.routerMaxQueue,
      deadlineMs: 1000 * f.model.deadlineSeconds,
      podStartMs: 1000 * f.model.startupSeconds,
    });
    if (!verdict.admit) {
      const again = () => this.submit({ ...request, attempt: request.attempt + 1 });
      if (!f.retryLater(request.attempt, verdict.retryAfterSeconds, again))
        this.fail(request, 'rejected');
      return;
    }
    for (let i = 0; i < row.n; i++) {
      const image: Job = {
        row: { ...row, n: 1 },
        arrival: request.arrival,
        attempt: request.attempt,
        attemptAt: f.now,
      };
      this.requestOf.set(image, request);
      this.queue.push(image);
    }
    f.at(f.now + f.model.deadlineSeconds, () => this.fail(request, 'timeout'));
    this.pump();
  }

  private fail(request: Routed, fate: Exclude<Fate, 'ok'>): void {
    if (request.settled) return;
    request.settled = true;
    this.fleet.results.lost[fate] += request.row.n;
    this.queue = this.queue.filter((job) => this.requestOf.get(job) !== request);
  }

  private pump(): void {
    // A dispatch can free its pod at once (the runtime refuses what does not fit), which calls
    // back here: the loop below goes on with that pod free.
    if (this.pumping) return;
    this.pumping = true;
    for (let job = this.queue[0]; job; job = this.queue[0]) {
      const pod = this.place(job);
      if (!pod) break;
      this.queue.shift();
      const f = this.fleet;
      this.lastDispatchMs.set(pod, 1000 * f.now);
      job.attemptAt = f.now;
      f.enqueue(pod, job);
    }
    this.pumping = false;
  }

  private place(job: Job): Pod | undefined {
    const pods = this.fleet.pods;
    const views: PodView[] = pods.map((pod) => ({
      name: String(pod.id),
      accepting: pod.phase === 'Ready',
      inflight: this.inflight(pod),
      slots,
      busyMs: this.busyMs(pod),
      imageMs: 1000 * this.fleet.imageSeconds(job.row, pod),
      lastDispatchAt: this.lastDispatchMs.get(pod) ?? -Infinity,
    }));
    const name = pick(views);
    return pods.find((pod) => String(pod.id) === name);
  }

  private load(): FleetLoad {
    const f = this.fleet;
    const ready = f.pods.filter((p) => p.phase === 'Ready');
    return {
      acceptingPods: ready.length,
      freeSlots: sum(ready.map((p) => Math.max(0, slots - this.inflight(p)))),
      busyMs: sum(ready.map((p) => this.busyMs(p))),
      queuedImages: this.queue.length,
      queuedMs: sum(this.queue.map((job) => 1000 * f.imageSeconds(job.row))),
    };
  }

  private inflight(pod: Pod): number {
    return pod.queue.length + (pod.running ? 1 : 0);
  }

  /** What the pod still has to run, ms: the rest of its image (its queue stays empty). */
  private busyMs(pod: Pod): number {
    return pod.running ? 1000 * Math.max(0, pod.running.endsAt - this.fleet.now) : 0;
  }
}
