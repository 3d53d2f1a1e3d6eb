/** What the dispatcher and the router's HTTP client exchange. */
import type { Clock } from '../../contract/clock.ts';
import type { AdmissionLimits } from './admission.ts';
import type { ImageSpec } from './fanout.ts';

/** What discovery knows of a pod. */
export interface PodTarget {
  name: string;
  /** Base URL of the runtime, e.g. http://127.1.4.2:8080. */
  url: string;
  /** Ready and not terminating. */
  accepting: boolean;
}

/** A pod's answer for one image. */
export type SendOutcome =
  | {
      kind: 'ok';
      /** The runtime's response body, as it came. */
      body: Buffer;
      /** Engine ms of the image and of its denoising, and the steps it ran (for the estimate). */
      totalMs: number;
      denoiseMs: number;
      steps: number;
      /** What the pod said it still holds when it answered, ms; undefined if it did not say. */
      backlogMs: number | undefined;
    }
  /** Refused, drained, reset or unreachable before an answer: safe to run on another pod. */
  | { kind: 'retry'; reason: RetryReason; detail: string }
  /** Any other answer: passed back to the client as the pod gave it. */
  | { kind: 'fail'; status: number; body: Buffer; contentType: string | undefined };

export const retryReasons = ['refused', 'draining', 'busy', 'connection'] as const;
export type RetryReason = (typeof retryReasons)[number];

export type Send = (pod: PodTarget, image: ImageSpec, signal: AbortSignal) => Promise<SendOutcome>;

/** One image back, for the response. */
export interface ImageDone {
  index: number;
  pod: string;
  body: Buffer;
  steps: number;
  /** Ms from the request's arrival at the router to this image's answer: the client's wait. */
  waitMs: number;
  queueMs: number;
}

export class RequestFailure extends Error {
  readonly status: number;
  readonly code: string;
  readonly body: Buffer | undefined;
  readonly contentType: string | undefined;
  /** For 429 and 503: seconds the client should wait before retrying. */
  readonly retryAfterSeconds: number | undefined;
  constructor(
    status: number,
    code: string,
    message: string,
    extra: {
      pod?: { body: Buffer; contentType: string | undefined };
      retryAfterSeconds?: number;
    } = {},
  ) {
    super(message);
    this.name = 'RequestFailure';
    this.status = status;
    this.code = code;
    this.body = extra.pod?.body;
    this.contentType = extra.pod?.contentType;
    this.retryAfterSeconds = extra.retryAfterSeconds;
  }
}

export interface DispatcherHooks {
  onDispatch?(pod: string): void;
  onRetry?(reason: RetryReason): void;
  /** An image answered: the client's wait for it (queue + generation), seconds. */
  onImage?(waitSeconds: number): void;
  onQueueChange?(images: number, workSeconds: number): void;
  /**
   * A request arrived (admitted or not): the engine seconds its images are expected to take at
   * the spec's steps (or its own), at the rates learned from the pods. The autoscaler's demand is the rate of
   * this (image-seconds per second: GPUs busy), counted before admission because a refused
   * request is demand too (its client comes back after Retry-After).
   */
  onArrival?(workSeconds: number): void;
}

export interface DispatcherOptions {
  clock: Clock;
  send: Send;
  /** Images this router keeps on one pod at once (1: the pod's queue never holds our work). */
  slots: number;
  limits: Omit<AdmissionLimits, 'podStartMs'> & { podStartMs?: number };
  /** Steps of a request that names none, until a pod's answer says its live steps. */
  defaultSteps: number;
  hooks?: DispatcherHooks;
}
