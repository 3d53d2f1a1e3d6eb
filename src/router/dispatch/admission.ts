/**
 * Admission at the router: a request is taken only if it fits the queue bound and its images
 * are expected to finish before its deadline; otherwise it is refused at once with 429 and a
 * Retry-After from the queued work, rather than run and failed at the deadline.
 *
 * The estimate is fluid: the fleet's P accepting pods share the work ahead (what the pods hold,
 * `busyMs`, plus what waits in the router, `queuedMs`) and then this request's n images, so
 * the last image ends near (busy + queued + n x image) / P, and never before ceil(n / P)
 * images back to back on one pod. E.g. 3 pods holding 2.4 s, nothing queued, 8 images of
 * 1.2 s: max((2.4 + 9.6) / 3, 3 x 1.2) = 4 s. On the 16 GB card (18.7 s per image), one pod,
 * 8 images: 149.6 s > the 120 s deadline, refused with Retry-After = the work ahead.
 *
 * With no accepting pod (all starting, or scaled to zero) a pod must start first: the estimate
 * is one pod's start (`podStartMs`, from now: a pod already part-way through its start is
 * counted as just begun, so the error is on the side of refusing) and then the queue and this
 * request back to back on it, the one pod the autoscaler asks for on the first arrival. E.g.
 * 103 s to start, nothing queued, images of 10 s (the router's prior before any answer): one
 * image finishes at 113 s, inside 120 s; two at 123 s, refused; against a 30 s deadline even
 * one is refused at once. The Retry-After is then the start time (103 s), not capped at the
 * deadline: until a pod is Ready no retry can do better.
 *
 * Pure: the caller passes what it knows; nothing here reads a clock.
 */

export interface FleetLoad {
  /** Pods that take new work now. */
  acceptingPods: number;
  /** Images the accepting pods can take from this router right now. */
  freeSlots: number;
  /** Expected ms of everything the accepting pods hold, summed over pods. */
  busyMs: number;
  /** Images waiting in the router, and their expected ms. */
  queuedImages: number;
  queuedMs: number;
}

export interface AdmissionLimits {
  /** Images that may wait in the router beyond what pods take at once. */
  maxQueuedImages: number;
  /** The request's deadline, ms from arrival. */
  deadlineMs: number;
  /** Expected ms until a starting pod serves: the Retry-After while none does. */
  podStartMs: number;
}

export interface Request {
  images: number;
  /** Expected ms of one image of this request. */
  imageMs: number;
}

export type Admission =
  | { admit: true; finishMs: number }
  | {
      admit: false;
      reason: 'queue_full' | 'would_miss_deadline';
      retryAfterSeconds: number;
      message: string;
    };

export function admit(request: Request, load: FleetLoad, limits: AdmissionLimits): Admission {
  const waiting = Math.max(0, load.queuedImages + request.images - load.freeSlots);
  const aheadMs = load.busyMs + load.queuedMs;
  const pods = load.acceptingPods;
  const retryAfterSeconds =
    pods > 0 ? retryAfter(aheadMs / pods, limits.deadlineMs) : startRetryAfter(limits.podStartMs);
  if (waiting > limits.maxQueuedImages) {
    return {
      admit: false,
      reason: 'queue_full',
      retryAfterSeconds,
      message: `router queue full (${load.queuedImages} images waiting, at most ${limits.maxQueuedImages}); retry in ${retryAfterSeconds} s`,
    };
  }
  const finishMs =
    pods > 0
      ? Math.max(
          (aheadMs + request.images * request.imageMs) / pods,
          Math.ceil(request.images / pods) * request.imageMs,
        )
      : limits.podStartMs + aheadMs + request.images * request.imageMs;
  if (finishMs > limits.deadlineMs) {
    const s = (ms: number) => (ms / 1000).toFixed(1);
    const why =
      pods > 0
        ? `${pods} pod(s) ready, ${s(aheadMs)} s of work ahead`
        : `no pod ready: one takes about ${s(limits.podStartMs)} s to start, then ${s(aheadMs)} s of work ahead`;
    return {
      admit: false,
      reason: 'would_miss_deadline',
      retryAfterSeconds,
      message: `${request.images} image(s) would finish in about ${s(finishMs)} s, past the ${s(limits.deadlineMs)} s deadline (${why}); retry in ${retryAfterSeconds} s`,
    };
  }
  return { admit: true, finishMs };
}

/** Whole seconds, at least 1 and at most the deadline (later, every current request is gone). */
export function retryAfter(ms: number, deadlineMs: number): number {
  return Math.max(1, Math.min(Math.ceil(Math.round(ms) / 1000), Math.ceil(deadlineMs / 1000)));
}

/** While no pod is Ready: the start time in whole seconds, at least 1. */
function startRetryAfter(podStartMs: number): number {
  return Math.max(1, Math.ceil(Math.round(podStartMs) / 1000));
}
