/**
 * A discrete-event model of one ZImageDeployment's GPU fleet.
 *
 * - Pods hold one GPU each from scheduling to exit; past `gpus` they stay Pending. A new pod
 *   serves after `startupSeconds` (weights + warm-up, model.ts).
 * - Each pod runs one image at a time (one GPU, one worker) with the runtime's queue: up to
 *   maxQueue requests wait behind the running one, more get 429 with Retry-After; a request
 *   queued past its deadline is dropped (504). Service times come from the card model.
 * - In front: a Service with kube-proxy's default iptables mode, which picks a Ready endpoint
 *   uniformly at random per connection, blind to queues (seeded, so runs repeat). Clients
 *   retry a 429 or 503 twice after Retry-After, as the OpenAI SDK does by default.
 * - Steps and offload change live (the runtime's ConfigMap, ~1 s); attention changes the pod
 *   template and rolls one pod at a time with maxSurge 0 (the replacement waits for the old
 *   pod's GPU), as builders/deployment.ts sets it.
 * - Scale-in removes Pending pods first, then starting ones, then the Ready pod with the least
 *   work, which drains its queue before it gives the GPU back.
 */
import { forwardsFor, memoryPlan, stageSeconds, type Workload } from '../contract/card.ts';
import { traceDefaults, type TraceRow } from './trace-csv.ts';
import type { QualitySettings } from '../operator/api/v1alpha1/status.ts';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { EventQueue, priorities } from './events.ts';
import type { SimModel } from './model.ts';
import type { Results } from './results.ts';

/** A trace row with the server's defaults filled in for what it leaves empty. */
interface Request {
  width: number;
  height: number;
  /** Undefined: the deployment's live steps. */
  steps?: number | undefined;
  n: number;
}

interface Job {
  row: Request;
  /** First attempt: the client's clock starts here. */
  arrival: number;
  attempt: number;
  attemptAt: number;
}

export interface Pod {
  id: number;
  phase: 'Pending' | 'Starting' | 'Ready' | 'Draining';
  attention: QualitySettings['attention'];
  gpuAt?: number;
  readyAt?: number;
  queue: Job[];
  running?: { job: Job; startedAt: number; endsAt: number } | undefined;
  /** Busy seconds of finished images (the running one is added at read time). */
  busy: number;
  /** Arena high-water mark of the current config (ORT's BFC arena keeps its peak). */
  vramBytes: number;
  offload: QualitySettings['offload'];
  /** Terminating to make way for a pod of the new template. */
  rolling?: boolean;
}

export class Fleet {
  readonly events = new EventQueue();
  readonly pods: Pod[] = [];
  now = 0;
  /** Engine seconds per finished image, with their end times (the latency histogram). */
  readonly finished: { at: number; seconds: number }[] = [];
  private readonly rng;
  private nextId = 0;
  private live: { at: number; q: QualitySettings }[];
  private template: QualitySettings['attention'];
  private readonly model: SimModel;
  private readonly results: Results;

  constructor(model: SimModel, results: Results, quality: QualitySettings, seed: number) {
    this.model = model;
    this.results = results;
    this.rng = xoroshiro128plus(seed);
    this.live = [{ at: 0, q: quality }];
    this.template = quality.attention;
  }

  /** Start with `replicas` pods already Ready (a warm fleet). */
  warm(replicas: number): void {
    for (let i = 0; i < replicas; i++) this.addPod(true);
  }

  get replicas(): number {
    return this.pods.filter((p) => p.phase !== 'Draining').length;
  }

  quality(at = this.now): QualitySettings {
    return this.live.filter((l) => l.at <= at).at(-1)!.q;
  }

  busyAt(pod: Pod): number {
    const r = pod.running;
    return pod.busy + (r ? Math.min(this.now, r.endsAt) - r.startedAt : 0);
  }

  arrive({ size, steps, n = traceDefaults.n }: TraceRow): void {
    const row = { ...(size ?? traceDefaults.size), steps, n };
    this.results.images += n;
    this.route({ row, arrival: this.now, attempt: 0, attemptAt: this.now });
  }

  private route(job: Job): void {
    const ready = this.pods.filter((p) => p.phase === 'Ready');
    if (ready.length === 0) return this.retryOr(job, 'unavailable', 1);
    const pod = ready[uniformInt(this.rng, 0, ready.length - 1)]!;
    this.dropExpired(pod);
    if (pod.queue.length >= this.model.maxQueue)
      return this.retryOr(job, 'rejected', this.drainEstimate(pod));
    pod.queue.push({ ...job, attemptAt: this.now });
    if (!pod.running) this.startNext(pod);
  }

  private retryOr(job: Job, fate: 'rejected' | 'unavailable', after: number): void {
    if (job.attempt >= this.model.retries) return this.lose(job, fate);
    const next = { ...job, attempt: job.attempt + 1 };
    this.at(this.now + Math.min(60, Math.max(1, after)), () => this.route(next));
  }

  private lose(job: Job, fate: keyof Results['lost']): void {
    this.results.lost[fate] += job.row.n;
  }

  /** The runtime's Retry-After: seconds until its queue has likely drained, at least 1. */
  private drainEstimate(pod: Pod): number {
    const q = this.quality();
    const each = (j: Job) => this.serviceSeconds(j, q, pod).total;
    const left = pod.running ? pod.running.endsAt - this.now : 0;
    return Math.ceil(left + pod.queue.reduce((s, j) => s + each(j), 0));
  }

  private dropExpired(pod: Pod): void {
    const deadline = this.model.deadlineSeconds;
    const expired = pod.queue.filter((j) => this.now - j.attemptAt > deadline);
    for (const j of expired) this.lose(j, 'timeout');
    pod.queue = pod.queue.filter((j) => this.now - j.attemptAt <= deadline);
  }

  private serviceSeconds(job: Job, q: QualitySettings, pod: Pod) {
    const w: Workload = {
      width: job.row.width,
      height: job.row.height,
      steps: job.row.steps ?? q.steps,
      precision: this.model.precision,
      offload: q.offload,
      attention: pod.attention,
    };
    const each = stageSeconds(this.model.card, w);
    return { w, each: each.total, total: each.total * job.row.n };
  }

  private startNext(pod: Pod): void {
    this.dropExpired(pod);
    const job = pod.queue.shift();
    if (!job) return this.idle(pod);
    const q = this.quality();
    const { w, each, total } = this.serviceSeconds(job, q, pod);
    const plan = memoryPlan(this.model.card, w);
    // The runtime refuses what cannot fit (413) before it starts.
    if (!plan.fits) {
      this.lose(job, 'refused');
      return this.startNext(pod);
    }
    if (pod.offload !== q.offload) pod.vramBytes = 0;
    pod.offload = q.offload;
    pod.vramBytes = Math.max(pod.vramBytes, plan.peakBytes);
    const endsAt = this.now + total;
    pod.running = { job, startedAt: this.now, endsAt };
    this.at(endsAt, () => this.finish(pod, job, each, forwardsFor(w)));
  }

  private finish(pod: Pod, job: Job, each: number, passes: number): void {
    const r = pod.running!;
    pod.busy += r.endsAt - r.startedAt;
    pod.running = undefined;
    for (let i = 0; i < job.row.n; i++) this.finished.push({ at: this.now, seconds: each });
    if (this.now - job.attemptAt > this.model.deadlineSeconds) this.lose(job, 'timeout');
    else this.serve(job, passes);
    this.startNext(pod);
  }

  private serve(job: Job, passes: number): void {
    const latency = this.now - job.arrival;
    const n = job.row.n;
    this.results.served += n;
    this.results.passes += passes * n;
    for (let i = 0; i < n; i++) this.results.latencies.push(latency);
    if (latency <= this.model.sloSeconds) this.results.withinSlo += n;
  }

  private idle(pod: Pod): void {
    if (pod.phase === 'Draining') this.release(pod);
  }

  at(time: number, run: () => void, priority: number = priorities.work): void {
    this.events.push({ at: time, priority, run });
  }

  /** Set the live config (steps, offload) and the template's attention. */
  setQuality(q: QualitySettings): void {
    this.live.push({ at: this.now + this.model.liveConfigDelaySeconds, q });
    this.template = q.attention;
    this.roll();
  }

  scaleTo(target: number): void {
    while (this.replicas < target) this.addPod(false);
    while (this.replicas > target) this.removeOne();
  }

  private addPod(warm: boolean): Pod {
    const pod: Pod = {
      id: this.nextId++,
      phase: 'Pending',
      attention: this.template,
      queue: [],
      busy: 0,
      vramBytes: 0,
      offload: this.quality().offload,
    };
    this.pods.push(pod);
    this.schedule(pod, warm);
    return pod;
  }

  private gpusInUse(): number {
    return this.pods.filter((p) => p.gpuAt !== undefined).length;
  }

  private schedule(pod: Pod, warm: boolean): void {
    if (pod.phase !== 'Pending' || this.gpusInUse() >= this.model.gpus) return;
    pod.gpuAt = this.now;
    pod.phase = warm ? 'Ready' : 'Starting';
    if (warm) {
      pod.readyAt = this.now;
      return;
    }
    this.at(this.now + this.model.startupSeconds, () => {
      if (pod.phase !== 'Starting') return;
      pod.phase = 'Ready';
      pod.readyAt = this.now;
      pod.rolling = false;
      this.roll();
    });
  }

  private removeOne(): void {
    const live = this.pods.filter((p) => p.phase !== 'Draining');
    const newestFirst = (phase: Pod['phase']) => live.filter((p) => p.phase === phase).reverse();
    const work = (p: Pod) => p.queue.length + (p.running ? 1 : 0);
    const ready = newestFirst('Ready').sort((a, b) => work(a) - work(b));
    const victim = [...newestFirst('Pending'), ...newestFirst('Starting'), ...ready][0];
    if (victim) this.drain(victim);
  }

  private drain(pod: Pod): void {
    const wasReady = pod.phase === 'Ready';
    pod.phase = 'Draining';
    if (!wasReady || (!pod.running && pod.queue.length === 0)) this.release(pod);
  }

  private release(pod: Pod): void {
    const i = this.pods.indexOf(pod);
    if (i < 0) return;
    this.pods.splice(i, 1);
    if (pod.gpuAt !== undefined) this.results.gpuSeconds += this.now - pod.gpuAt;
    for (const j of pod.queue) this.lose(j, 'unavailable');
    const waiting = this.pods.find((p) => p.phase === 'Pending');
    if (waiting) this.schedule(waiting, false);
  }

  /** maxSurge 0, maxUnavailable 1: one old pod at a time makes way for one of the template. */
  private roll(): void {
    if (this.pods.some((p) => p.rolling)) return;
    const old = this.pods.find((p) => p.phase !== 'Draining' && p.attention !== this.template);
    if (!old) return;
    old.rolling = true;
    this.drain(old);
    this.addPod(false).rolling = true;
  }

  /** Pods Pending for lack of GPUs: not those waiting for a terminating pod's GPU in a roll. */
  pendingForGpus(): number {
    const pending = this.pods.filter((p) => p.phase === 'Pending').length;
    const terminating = this.pods.filter((p) => p.phase === 'Draining').length;
    return Math.max(0, pending - terminating);
  }

  /** GPU time of the pods still holding GPUs at the end. */
  close(): void {
    for (const p of this.pods)
      if (p.gpuAt !== undefined) this.results.gpuSeconds += this.now - p.gpuAt;
  }
}
