/**
 * The router's front (src/router, docs/router.md), run with the router's own pure functions on
 * the queue machinery it shares with Knative's activator (pull-queue.ts):
 *
 * - `admit()` takes a request or refuses it at once with 429 and Retry-After: its queue bound,
 *   and a deadline its images would miss by the work ahead shared over the Ready pods.
 * - An admitted request's n images wait in one queue as single-image jobs, in arrival order.
 * - Pull-style: an image leaves the queue only when some Ready pod has a free slot (1 per pod,
 *   so a pod's own queue never holds the router's work), for the pod `pick()` chooses: the one
 *   expected to finish it first.
 *
 * What the real router learns (per-pod rates from the answers, the pods' reported backlog) is
 * exact here: the card model's seconds and what each pod still has to run.
 */
import { admit, type FleetLoad } from '../router/dispatch/admission.ts';
import { pick, type PodView } from '../router/dispatch/pick.ts';
import type { Job, Pod, Request } from './fleet.ts';
import { inflight, PullQueue, type Admission } from './pull-queue.ts';
import { sum } from './recorder.ts';

/** ZIMAGE_ROUTER_POD_SLOTS' default: images the router keeps on one pod at once. */
const slots = 1;

export class RouterFront extends PullQueue {
  private readonly lastDispatchMs = new Map<Pod, number>();
  override readonly routed = true;

  /** The queued images' engine seconds at the live settings: the queued-work gauge. */
  override get queuedWork(): number {
    return sum(this.queue.map((job) => this.fleet.imageSeconds(job.row)));
  }

  protected admit(row: Request): Admission {
    const f = this.fleet;
    // Every attempt is an arrival at the router (a refused one comes back): priced at the
    // spec's settings, zimage_router_arrived_work_seconds_total.
    f.arrivedWork += row.n * f.fullQualitySeconds(row);
    const verdict = admit({ images: row.n, imageMs: 1000 * f.imageSeconds(row) }, this.load(), {
      maxQueuedImages: f.model.routerMaxQueue,
      deadlineMs: 1000 * f.model.deadlineSeconds,
      podStartMs: 1000 * f.model.startupSeconds,
    });
    return verdict.admit
      ? { admit: true }
      : { admit: false, retryAfterSeconds: verdict.retryAfterSeconds, fate: 'rejected' };
  }

  protected jobsOf(row: Request): Request[] {
    return Array.from({ length: row.n }, () => ({ ...row, n: 1 }));
  }

  protected override dispatched(pod: Pod): void {
    this.lastDispatchMs.set(pod, 1000 * this.fleet.now);
  }

  protected place(job: Job): Pod | undefined {
    const pods = this.fleet.pods;
    const views: PodView[] = pods.map((pod) => ({
      name: String(pod.id),
      accepting: pod.phase === 'Ready',
      inflight: inflight(pod),
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
      freeSlots: sum(ready.map((p) => Math.max(0, slots - inflight(p)))),
      busyMs: sum(ready.map((p) => this.busyMs(p))),
      queuedImages: this.queue.length,
      queuedMs: sum(this.queue.map((job) => 1000 * f.imageSeconds(job.row))),
    };
  }

  /** What the pod still has to run, ms: the rest of its image (its queue stays empty). */
  private busyMs(pod: Pod): number {
    return pod.running ? 1000 * Math.max(0, pod.running.endsAt - this.fleet.now) : 0;
  }
}
