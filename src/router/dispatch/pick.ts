/**
 * Where the next image goes: the pod expected to finish it first, among the pods with a free
 * slot. Pure (no clock, no I/O): the router calls it for every image it dispatches and the
 * simulator (src/sim) calls the same function, as both call `decide()`.
 *
 * Pull-style, as Knative's activator with a per-pod breaker: a pod is offered work only while
 * this router holds fewer than `slots` images on it, so an image never waits behind another on
 * a busy pod while some pod idles; it waits in the router's queue instead, and goes to
 * whichever pod frees first.
 *
 * Expected finish = what the pod still has to do + this image on that pod. What the pod has is
 * the larger of what this router knows it sent (and has not had back) and what the pod itself
 * last reported (it also serves other routers and direct clients), aged by the time since.
 * E.g. pod A idle, image 1.2 s -> 1.2 s; pod B with 0.4 s left of an image from another
 * router -> 1.6 s: A wins although both have a free slot from this router's point of view.
 *
 * Ties (to the millisecond) go to the pod this router has not used for the longest, then by
 * name, so equal pods share the load in turn and a run is reproducible.
 */

/** What the router knows of one runtime pod at the moment it places an image. */
export interface PodView {
  name: string;
  /** Ready and not terminating: new work may go there. A draining pod gets nothing. */
  accepting: boolean;
  /** Images this router has on the pod and has not had back. */
  inflight: number;
  /** Images this router may hold on the pod at once. */
  slots: number;
  /** Expected ms until the pod has finished everything it holds now (all senders). */
  busyMs: number;
  /** Expected ms of the image being placed, on this pod (pods of one spec may still differ). */
  imageMs: number;
  /** This router's last dispatch to the pod, clock ms (-Infinity: never). */
  lastDispatchAt: number;
}

/** The pod to send the image to, or undefined: no pod has a free slot (the image waits). */
export function pick(pods: readonly PodView[]): string | undefined {
  let best: PodView | undefined;
  let bestFinish = Infinity;
  for (const pod of pods) {
    if (!pod.accepting || pod.inflight >= pod.slots) continue;
    const finish = Math.round(Math.max(0, pod.busyMs) + pod.imageMs);
    if (best === undefined || finish < bestFinish || (finish === bestFinish && fairer(pod, best))) {
      best = pod;
      bestFinish = finish;
    }
  }
  return best?.name;
}

function fairer(a: PodView, b: PodView): boolean {
  if (a.lastDispatchAt !== b.lastDispatchAt) return a.lastDispatchAt < b.lastDispatchAt;
  return a.name < b.name;
}
