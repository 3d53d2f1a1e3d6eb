/**
 * Today's front: a Service with kube-proxy's default iptables mode, which picks a Ready endpoint
 * uniformly at random per connection, blind to queues (seeded, so runs repeat). The pod's
 * runtime takes the whole request (n images back to back) into its queue, or answers 429 with
 * Retry-After past maxQueue; with no Ready pod the client gets 503.
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { Fleet, Front, Job, Pod, Request } from './fleet.ts';
import { recordServed, type Fate } from './results.ts';

export class ServiceFront implements Front {
  readonly waiting = 0;
  readonly queuedWork = 0;
  readonly routed = false;
  private readonly fleet: Fleet;
  private readonly rng;
  /** Where a retry goes: back here, or through whatever is in the path by then (activator.ts). */
  private readonly again: (job: Job) => void;

  constructor(fleet: Fleet, seed: number, again?: (job: Job) => void) {
    this.fleet = fleet;
    this.rng = xoroshiro128plus(seed);
    this.again = again ?? ((job) => this.route(job));
  }

  arrive(row: Request): void {
    const now = this.fleet.now;
    this.route({ row, arrival: now, attempt: 0, attemptAt: now });
  }

  podFree(): void {}

  served(job: Job, passes: number): void {
    const f = this.fleet;
    const n = job.row.n;
    f.waited.push({ at: f.now, seconds: f.now - job.attemptAt });
    recordServed(f.results, f.now - job.arrival, n, passes * n, f.model.sloSeconds);
  }

  lost(job: Job, fate: Exclude<Fate, 'ok'>): void {
    this.fleet.results.lost[fate] += job.row.n;
  }

  /** One attempt: a random Ready pod, or a 503 with none. */
  route(job: Job): void {
    const f = this.fleet;
    const ready = f.pods.filter((p) => p.phase === 'Ready');
    if (ready.length === 0) return this.retryOr(job, 'unavailable', 1);
    const pod = ready[uniformInt(this.rng, 0, ready.length - 1)]!;
    f.dropExpired(pod);
    if (pod.queue.length >= f.model.maxQueue)
      return this.retryOr(job, 'rejected', this.drainEstimate(pod));
    f.enqueue(pod, { ...job, attemptAt: f.now });
  }

  private retryOr(job: Job, fate: 'rejected' | 'unavailable', after: number): void {
    const next = { ...job, attempt: job.attempt + 1 };
    if (!this.fleet.retryLater(job.attempt, after, () => this.again(next))) this.lost(job, fate);
  }

  /** The runtime's Retry-After: seconds until its queue has likely drained, at least 1. */
  private drainEstimate(pod: Pod): number {
    const f = this.fleet;
    const each = (j: Job) => f.imageSeconds(j.row, pod) * j.row.n;
    const left = pod.running ? pod.running.endsAt - f.now : 0;
    return Math.ceil(left + pod.queue.reduce((s, j) => s + each(j), 0));
  }
}
