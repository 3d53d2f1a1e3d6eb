/**
 * What the router (router.ts) and Knative's activator (activator.ts) share: a front that holds
 * requests in one queue, in arrival order, and lets a job go only when a Ready pod has room for
 * it, to the pod its place() names, so a pod's own queue never holds the front's work.
 *
 * - admit() takes a request or refuses it at once (429 or 503 with Retry-After; the client
 *   retries as it does a pod's 429).
 * - jobsOf() says what waits: the router splits a request into single images, the activator
 *   keeps it whole.
 * - A request is answered when its last job is back, and each of its images counts with that
 *   wait. Past its deadline, counted from its arrival at the front, it fails with 504 and its
 *   queued jobs leave the queue. A job running for a request that failed runs to its end (the
 *   runtime stops at the next step boundary: at most 1 of 9 steps sooner on the H100, ~0.1 s),
 *   and is not counted as served.
 */
import type { Fleet, Front, Job, Pod, Request } from './fleet.ts';
import { priorities } from './events.ts';
import { recordServed, type Fate } from './results.ts';

/** A client's request at the front, for one attempt. */
export interface Held {
  row: Request;
  /** First attempt: the client's clock starts here. */
  arrival: number;
  attempt: number;
  /** Jobs not yet back. */
  left: number;
  /** Transformer passes of the images back, summed. */
  passes: number;
  settled: boolean;
}

export type Admission =
  { admit: true } | { admit: false; retryAfterSeconds: number; fate: 'rejected' | 'unavailable' };

export abstract class PullQueue implements Front {
  protected readonly fleet: Fleet;
  protected queue: Job[] = [];
  private readonly requestOf = new Map<Job, Held>();
  private pumping = false;
  /**
   * Admitted requests' deadlines, oldest first (each the same seconds after its admission, so
   * in order). One timer runs for the oldest unsettled: a request answered in time costs no
   * event, where a timer each kept ~120 s of arrivals in the event heap. A timer carries the
   * place its request took in the event order at admission, so it fires where its own would.
   */
  private readonly deadlines: { at: number; seq: number; request: Held }[] = [];
  private nextDeadline = 0;
  private timing = false;

  constructor(fleet: Fleet) {
    this.fleet = fleet;
  }

  /** Whether the request should be held, given the queue as it is. */
  protected abstract admit(row: Request): Admission;
  /** The jobs a request waits as, each a Request of its own. */
  protected abstract jobsOf(row: Request): Request[];
  /** The pod to run `job` now, or none with room. */
  protected abstract place(job: Job): Pod | undefined;
  /** A job went to `pod` (the router remembers when, for pick()). */
  protected dispatched(_pod: Pod): void {}

  get waiting(): number {
    return this.queue.length;
  }

  /** Only the router exports demand (its arrived and queued work); the activator none. */
  readonly routed: boolean = false;

  get queuedWork(): number {
    return 0;
  }

  arrive(row: Request): void {
    this.enter(row, this.fleet.now, 0);
  }

  /** A request's attempt: its first, or a retry (the Service's retries come here too). */
  enter(row: Request, arrival: number, attempt: number): void {
    const request: Held = { row, arrival, attempt, left: 0, passes: 0, settled: false };
    const f = this.fleet;
    const verdict = this.admit(row);
    if (!verdict.admit) {
      const again = () => this.enter(row, arrival, attempt + 1);
      if (!f.retryLater(attempt, verdict.retryAfterSeconds, again))
        this.fail(request, verdict.fate);
      return;
    }
    for (const part of this.jobsOf(row)) {
      const job: Job = { row: part, arrival, attempt, attemptAt: f.now };
      this.requestOf.set(job, request);
      this.queue.push(job);
      request.left++;
    }
    this.deadlines.push({ at: f.now + f.model.deadlineSeconds, seq: f.events.reserve(), request });
    this.armDeadline();
    this.pump();
  }

  /** Set the timer for the oldest deadline of a request still open, if none is set. */
  private armDeadline(): void {
    const d = this.deadlines;
    while (this.nextDeadline < d.length && d[this.nextDeadline]!.request.settled)
      this.nextDeadline++;
    if (this.nextDeadline > 1024 && this.nextDeadline > d.length / 2) {
      d.splice(0, this.nextDeadline);
      this.nextDeadline = 0;
    }
    const next = d[this.nextDeadline];
    if (this.timing || !next) return;
    this.timing = true;
    // Settled by then (answered, or failed), its fail() does nothing; either way the next.
    const fire = () => {
      this.timing = false;
      this.fail(next.request, 'timeout');
      this.armDeadline();
    };
    this.fleet.at(next.at, fire, priorities.work, next.seq);
  }

  /** Whether `job` came from this front. */
  owns(job: Job): boolean {
    return this.requestOf.has(job);
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
    request.passes += passes * job.row.n;
    if (--request.left > 0) return;
    request.settled = true;
    const latency = f.now - request.arrival;
    recordServed(f.results, latency, request.row.n, request.passes, f.model.sloSeconds);
  }

  /** A pod's 413 (or its deadline) fails the whole request, as the front passes it back. */
  lost(job: Job, fate: Exclude<Fate, 'ok'>): void {
    const request = this.requestOf.get(job);
    this.requestOf.delete(job);
    if (request) this.fail(request, fate);
  }

  private fail(request: Held, fate: Exclude<Fate, 'ok'>): void {
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
      this.dispatched(pod);
      job.attemptAt = this.fleet.now;
      this.fleet.enqueue(pod, job);
    }
    this.pumping = false;
  }
}

/** Requests on a pod, running or in its queue (one request is one job behind a pull queue). */
export const inflight = (pod: Pod) => pod.queue.length + (pod.running ? 1 : 0);
