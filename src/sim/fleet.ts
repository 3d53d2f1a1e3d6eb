/**
 * A discrete-event model of one ZImageDeployment's GPU fleet.
 *
 * - Pods hold one GPU each from scheduling to exit; past `gpus` they stay Pending. A new pod
 *   serves after `startupSeconds` (weights + warm-up, model.ts).
 * - Each pod runs one image at a time (one GPU, one worker) with the runtime's queue: up to
 *   maxQueue requests wait behind the running one, more get 429 with Retry-After; a request
 *   queued past its deadline is dropped (504). Service times come from the card model.
 * - In front, where requests arrive (a `Front`): a Service that picks a Ready pod at random
 *   (service.ts), or the router's queue (router.ts). Clients retry a 429 or 503 twice after
 *   Retry-After, as the OpenAI SDK does by default.
 * - Steps and offload change live (the runtime's ConfigMap, ~1 s); attention changes the pod
 *   template and rolls one pod at a time with maxSurge 0 (the replacement waits for the old
 *   pod's GPU), as builders/deployment.ts sets it.
 * - Scale-in removes Pending pods first, then starting ones, then the Ready pod with the least
 *   work, which drains its queue before it gives the GPU back.
 */
import { attentionBackends } from '../contract/runtime.ts';
import type { Workload } from '../contract/card.ts';
import { imageCost } from './costs.ts';
import { traceDefaults, type TraceRow } from './trace-csv.ts';
import type { QualitySettings } from '../operator/api/v1alpha1/status.ts';
import { EventQueue, priorities } from './events.ts';
import type { SimModel } from './model.ts';
import type { Fate, Results } from './results.ts';

/** A trace row with the server's defaults filled in for what it leaves empty. */
export interface Request {
  width: number;
  height: number;
  /** Undefined: the deployment's live steps. */
  steps?: number | undefined;
  n: number;
}

/** What a pod runs: a whole request behind a Service, one image of one behind the router. */
export interface Job {
  row: Request;
  /** First attempt: the client's clock starts here. */
  arrival: number;
  attempt: number;
  /** Arrival at the pod: the runtime's deadline counts from here. */
  attemptAt: number;
}

/** Where requests arrive, in front of the pods: what a pod's outcome goes back to. */
export interface Front {
  arrive(request: Request): void;
  /** Images waiting in front of the pods (the router's queue; a Service holds none). */
  readonly waiting: number;
  /** Their engine seconds at the live settings (the router's queued-work gauge). */
  readonly queuedWork: number;
  /** The router exports demand (arrivals, queued work); a Service exports nothing. */
  readonly routed: boolean;
  /** A pod turned Ready or ran out of work: what waits may go. */
  podFree(): void;
  /** A job a pod ran to its end; `passes` per image. */
  served(job: Job, passes: number): void;
  /** A job a pod dropped: did not fit (413), past its deadline, or its pod went away. */
  lost(job: Job, fate: Exclude<Fate, 'ok'>): void;
  /** Knative's activator into the path or out (only a Service front has one: activator.ts). */
  setActivator?(inPath: boolean): void;
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
  /**
   * The clients' wait as the operator reads it (waitP95Seconds), with its end times: per image
   * from its request's arrival at the router, or without one, per request from its arrival at
   * the pod (the runtime's request-duration histogram).
   */
  readonly waited: { at: number; seconds: number }[] = [];
  /**
   * Engine seconds of the images that arrived at the router (retries again), priced at the
   * spec's settings: zimage_router_arrived_work_seconds_total.
   */
  arrivedWork = 0;
  readonly model: SimModel;
  readonly results: Results;
  readonly front: Front;
  private nextId = 0;
  private live: { at: number; q: QualitySettings }[];
  private readonly seconds = new WeakMap<QualitySettings, Map<number, number>>();
  /** The spec's quality (the live list drops superseded settings, this one included). */
  private readonly base: QualitySettings;
  private template: QualitySettings['attention'];

  constructor(
    model: SimModel,
    results: Results,
    quality: QualitySettings,
    front: (fleet: Fleet) => Front,
  ) {
    this.model = model;
    this.results = results;
    this.live = [{ at: 0, q: quality }];
    this.base = quality;
    this.template = quality.attention;
    this.front = front(this);
  }

  /** Start with `replicas` pods already Ready (a warm fleet). */
  warm(replicas: number): void {
    for (let i = 0; i < replicas; i++) this.addPod(true);
  }

  get replicas(): number {
    return this.pods.filter((p) => p.phase !== 'Draining').length;
  }

  /** The live settings now; settings superseded by now are dropped (a long run sets thousands). */
  quality(): QualitySettings {
    while (this.live.length > 1 && this.live[1]!.at <= this.now) this.live.shift();
    return this.live[0]!.q;
  }

  busyAt(pod: Pod): number {
    const r = pod.running;
    return pod.busy + (r ? Math.min(this.now, r.endsAt) - r.startedAt : 0);
  }

  arrive({ size, steps, n = traceDefaults.n }: TraceRow): void {
    this.results.images += n;
    this.front.arrive({ ...(size ?? traceDefaults.size), steps, n });
  }

  /** Onto the pod's queue; it starts at once on an idle pod. */
  enqueue(pod: Pod, job: Job): void {
    pod.queue.push(job);
    if (!pod.running) this.startNext(pod);
  }

  /** The client: a 429 or 503 is tried again after Retry-After (1-60 s), `retries` times. */
  retryLater(attempt: number, afterSeconds: number, again: () => void): boolean {
    if (attempt >= this.model.retries) return false;
    this.at(this.now + Math.min(60, Math.max(1, afterSeconds)), again);
    return true;
  }

  /** Seconds of one image of `row` on `pod`, or with the live settings' attention. */
  imageSeconds(row: Request, pod?: Pod): number {
    const q = this.quality();
    const attention = pod?.attention ?? q.attention;
    // The router's admission and pick() price every queued image for every pod, millions of
    // times in a long run: a number key per live settings object, not the card model's string.
    let memo = this.seconds.get(q);
    if (!memo) this.seconds.set(q, (memo = new Map<number, number>()));
    const key =
      ((row.width * 8192 + row.height) * 64 + (row.steps ?? 0)) * 8 +
      attentionBackends.indexOf(attention);
    let each = memo.get(key);
    if (each === undefined) memo.set(key, (each = this.serviceSeconds(row, q, attention).each));
    return each;
  }

  /** Seconds of one image of `row` at the spec's quality: what the router prices arrivals at. */
  fullQualitySeconds(row: Request): number {
    return this.serviceSeconds(row, this.base, this.base.attention).each;
  }

  /**
   * The runtime drops what waited in its queue past the deadline (504). A pod's queue is in
   * arrival order, so the expired jobs lead it.
   */
  dropExpired(pod: Pod): void {
    const deadline = this.model.deadlineSeconds;
    let expired = 0;
    while (expired < pod.queue.length && this.now - pod.queue[expired]!.attemptAt > deadline)
      expired++;
    if (expired === 0) return;
    for (const j of pod.queue.splice(0, expired)) this.front.lost(j, 'timeout');
  }

  private serviceSeconds(row: Request, q: QualitySettings, attention: Pod['attention']) {
    const w: Workload = {
      width: row.width,
      height: row.height,
      steps: row.steps ?? q.steps,
      precision: this.model.precision,
      offload: q.offload,
      attention,
    };
    const cost = imageCost(this.model.card, w);
    return { cost, each: cost.seconds, total: cost.seconds * row.n };
  }

  private startNext(pod: Pod): void {
    this.dropExpired(pod);
    const job = pod.queue.shift();
    if (!job) return this.idle(pod);
    const q = this.quality();
    const { cost, each, total } = this.serviceSeconds(job.row, q, pod.attention);
    // The runtime refuses what cannot fit (413) before it starts.
    if (!cost.fits) {
      this.front.lost(job, 'refused');
      return this.startNext(pod);
    }
    if (pod.offload !== q.offload) pod.vramBytes = 0;
    pod.offload = q.offload;
    pod.vramBytes = Math.max(pod.vramBytes, cost.peakBytes);
    const endsAt = this.now + total;
    pod.running = { job, startedAt: this.now, endsAt };
    this.at(endsAt, () => this.finish(pod, job, each, cost.passes));
  }

  private finish(pod: Pod, job: Job, each: number, passes: number): void {
    const r = pod.running!;
    pod.busy += r.endsAt - r.startedAt;
    pod.running = undefined;
    for (let i = 0; i < job.row.n; i++) this.finished.push({ at: this.now, seconds: each });
    if (this.now - job.attemptAt > this.model.deadlineSeconds) this.front.lost(job, 'timeout');
    else this.front.served(job, passes);
    this.startNext(pod);
  }

  private idle(pod: Pod): void {
    if (pod.phase === 'Draining') this.release(pod);
    else this.front.podFree();
  }

  /** Run `run` at `time`; `seq` from events.reserve() sorts it as if scheduled then. */
  at(time: number, run: () => void, priority: number = priorities.work, seq?: number): void {
    this.events.push({ at: time, priority, run }, seq);
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
      this.front.podFree();
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
    for (const j of pod.queue) this.front.lost(j, 'unavailable');
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
