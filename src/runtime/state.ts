/**
 * Whether the runtime takes work, in one place: /readyz, the generate route (503 when not
 * ready) and the zimage_ready gauge all read this. Draining and failed are one-way.
 */

export const phases = [
  /** Sessions being created or the warm-up image running. */
  'starting',
  'ready',
  /** An out-of-memory failure: sessions are being recreated. */
  'recovering',
  /** SIGTERM: finishing admitted work, taking no more. */
  'draining',
  /** The engine cannot work any more (worker died, OOM restarts used up); the process exits. */
  'failed',
] as const;
export type Phase = (typeof phases)[number];

/** How long start-up took, reported by /readyz and zimage_warmup_seconds. */
export interface StartupTimings {
  /** createPipeline: session creation (and model loading). */
  sessionsSeconds: number;
  /** The warm-up generation. */
  generationSeconds: number;
}

export class RuntimeState {
  private started = false;
  private startup: StartupTimings | undefined;
  private recovering = false;
  private draining = false;
  private failure: string | undefined;
  private readonly listeners: ((phase: Phase) => void)[] = [];

  phase(): Phase {
    if (this.failure !== undefined) return 'failed';
    if (this.draining) return 'draining';
    if (!this.started) return 'starting';
    return this.recovering ? 'recovering' : 'ready';
  }

  ready(): boolean {
    return this.phase() === 'ready';
  }

  /** Why the engine failed, when it did. */
  failureReason(): string | undefined {
    return this.failure;
  }

  onChange(listener: (phase: Phase) => void): void {
    this.listeners.push(listener);
  }

  startupTimings(): StartupTimings | undefined {
    return this.startup;
  }

  markStarted(startup?: StartupTimings): void {
    this.startup = startup;
    this.update(() => (this.started = true));
  }

  setRecovering(recovering: boolean): void {
    this.update(() => (this.recovering = recovering));
  }

  markDraining(): void {
    this.update(() => (this.draining = true));
  }

  markFailed(reason: string): void {
    this.update(() => (this.failure ??= reason));
  }

  private update(change: () => unknown): void {
    const before = this.phase();
    change();
    const after = this.phase();
    if (after !== before) for (const listener of this.listeners) listener(after);
  }
}
