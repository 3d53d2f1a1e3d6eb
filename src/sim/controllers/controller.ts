/**
 * What the simulator runs each period: a controller reads the recorder's samples (never the
 * fleet) and says what replicas and quality it wants.
 */
import type { QualitySettings } from '../../operator/api/v1alpha1/status.ts';
import type { SampleSource } from '../recorder.ts';

export interface Command {
  replicas?: number;
  quality?: QualitySettings;
  /**
   * Knative's SKS mode, which the KPA sets each tick: true (Proxy) puts the activator in the
   * request path, false (Serve) takes it out. Only a Service front has an activator; behind
   * the router it is ignored.
   */
  activator?: boolean;
}

export interface Controller {
  name: string;
  periodSeconds: number;
  tick(now: number, recorder: SampleSource): Command;
  /** The decisions taken, one line each (the policy's, with reasons). */
  readonly log: string[];
}

export interface Bounds {
  minReplicas: number;
  maxReplicas: number;
}

export const clampTo = (n: number, b: Bounds) =>
  Math.min(b.maxReplicas, Math.max(b.minReplicas, n));
