/**
 * The operator's own policy in the simulator: the very decide() the operator runs, at the
 * spec's interval, on signals shaped as the signal sources give them, with its state stored
 * and read back through JSON and the status schema every tick, as the CR's status would.
 *
 * Sampling follows spec.autoscaling.metrics.direct: direct scrapes give every signal each
 * second; without them dcgm-exporter's default 30 s collection and a 15 s ServiceMonitor
 * scrape hold a value that long.
 */
import { durationSeconds } from '../../operator/api/v1alpha1/schema-kit.ts';
import type { ZImageDeploymentSpec } from '../../operator/api/v1alpha1/spec.ts';
import { autoscalerState, type AutoscalerState } from '../../operator/api/v1alpha1/status.ts';
import { decide } from '../../operator/policy/decide.ts';
import { demandWindows } from '../../operator/policy/demand.ts';
import { policySpecOf } from '../../operator/policy/spec.ts';
import type { Reading, Signals } from '../../operator/policy/signals.ts';
import { routerSignals, type RouterSignal } from '../../operator/api/v1alpha1/signals.ts';
import {
  defaultDemandWindows,
  eachOf,
  missing,
  type DemandWindows,
} from '../../operator/signals/sample.ts';
import type { Sample, SampleSource } from '../recorder.ts';
import type { Controller } from './controller.ts';

/** decide() works in epoch ms; the simulation starts at this instant. */
export const simEpoch = Date.parse('2026-12-01T00:00:00.000Z');

const sampling = {
  direct: { gpu: 1, runtime: 1 },
  // dcgm-exporter -c 30000 (pkg/cmd/app.go); a 15 s ServiceMonitor interval.
  prometheus: { gpu: 30, runtime: 15 },
} as const;

/** The sample the source would hold at `now`: the last one on its sampling grid. */
function held(recorder: SampleSource, now: number, every: number): Sample | undefined {
  const at = Math.floor(now / every) * every;
  return recorder.samples.findLast((s) => s.t <= at + 1e-9);
}

const reading = (value: number, every: number, at: number): Reading => ({
  ok: true,
  value,
  intervalSeconds: every,
  at,
});

/**
 * What the routers export, as the direct source reads it: arrived work as the counter's rate
 * over each window (shorter while the run is younger than the window, as a ring not yet full),
 * the queue as gauges. Behind a Service there is no router: NotConfigured, as the operator
 * reports for an object with spec.router.enabled false.
 */
function routerReadings(
  recorder: SampleSource,
  now: number,
  every: number,
  windows: DemandWindows,
  at: number,
): Pick<Signals, RouterSignal> {
  const last = held(recorder, now, every);
  if (!last?.router) {
    const none = missing('NotConfigured', 'behind a Service: no router exports demand');
    return eachOf(routerSignals, none);
  }
  const rate = (seconds: number): Reading => {
    const from = held(recorder, now - seconds, every) ?? recorder.samples[0];
    const span = last.t - (from?.t ?? last.t);
    if (!from?.router || span <= 0)
      return missing('WindowNotFilled', 'a rate needs two scrapes of the router');
    const value = (last.router!.arrivedWork - from.router.arrivedWork) / span;
    return { ok: true, value, at, intervalSeconds: every, windowSeconds: span };
  };
  const gauge = (value: number): Reading => ({ ok: true, value, at, intervalSeconds: every });
  return {
    routerQueuedImages: gauge(last.router.queued),
    routerQueuedWorkSeconds: gauge(last.router.queuedWork),
    // Images per second: no decision reads it; the work rate is what demand needs.
    arrivedImagesPerSecond: missing('NotConfigured', 'the simulator does not model this signal'),
    arrivedWorkPerSecond: rate(windows.stableSeconds),
    burstWorkPerSecond: rate(Math.max(windows.panicSeconds, every)),
  };
}

export function signalsAt(
  recorder: SampleSource,
  now: number,
  direct: boolean,
  windows: DemandWindows = defaultDemandWindows,
): Signals | undefined {
  const every = direct ? sampling.direct : sampling.prometheus;
  const gpu = held(recorder, now, every.gpu);
  const rt = held(recorder, now, every.runtime);
  const k8s = recorder.samples.at(-1);
  if (!gpu || !rt || !k8s) return undefined;
  const at = simEpoch + Math.round(now * 1000);
  const r = (value: number, every: number) => reading(value, every, at);
  return {
    gpuUtilization: r(gpu.util, every.gpu),
    vramUsedRatio: r(gpu.vramRatio, every.gpu),
    vramUsedBytes: r(gpu.vramBytes, every.gpu),
    latencyP95Seconds:
      rt.latencyP95 === undefined
        ? missing('NoObservations', 'no image finished in the latency window')
        : r(rt.latencyP95, every.runtime),
    waitP95Seconds:
      rt.waitP95 === undefined
        ? missing('NoObservations', 'no image finished in the latency window')
        : r(rt.waitP95, every.runtime),
    queueDepth: r(rt.queue, every.runtime),
    inflight: r(rt.inflight, every.runtime),
    ...routerReadings(recorder, now, every.runtime, windows, at),
    pendingPods: r(k8s.pending, 1),
    fleet: { replicas: k8s.replicas, readyReplicas: k8s.ready },
  };
}

const clock = (seconds: number) => {
  const s = Math.round(seconds);
  const hms = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60];
  return hms.map((n) => String(n).padStart(2, '0')).join(':');
};

/**
 * The state's text without its history, and the history by its length and newest entry: the
 * history only grows by entries stamped `now` (and drops its oldest at 20), so that tells any
 * change, and the long messages are not serialized every tick.
 */
function fingerprint(state: AutoscalerState): string {
  const { history, ...rest } = state;
  return `${JSON.stringify(rest)}|${history.length}|${history.at(-1)?.time ?? ''}`;
}

/** The policy in Enforce mode, whatever the file says: the simulator shows what it would do. */
export function policyController(spec: ZImageDeploymentSpec, name = 'zimage policy'): Controller {
  const enforced: ZImageDeploymentSpec = {
    ...spec,
    autoscaling: { ...spec.autoscaling, mode: 'Enforce' },
  };
  let state: AutoscalerState | undefined;
  let stored = '';
  const demand = policySpecOf(spec)
    .rules.map(demandWindows)
    .find((w) => w !== undefined);
  const windows = demand ?? defaultDemandWindows;
  const log: string[] = [];
  const shown = new Map<string, string>();
  return {
    name,
    periodSeconds: durationSeconds(spec.autoscaling.interval),
    log,
    tick(now, recorder) {
      const signals = signalsAt(recorder, now, spec.autoscaling.metrics.direct, windows);
      if (!signals) return {};
      const decision = decide(signals, state, enforced, simEpoch + Math.round(now * 1000));
      // Through JSON and the status schema, as status stores it; a state already stored as
      // the very same text is the stored one (most ticks change nothing: 3/4 of a 23-day run
      // went to parsing identical states).
      const text = fingerprint(decision.state);
      if (text !== stored) {
        state = autoscalerState.parse(JSON.parse(JSON.stringify(decision.state)));
        stored = text;
      }
      for (const a of decision.actions)
        log.push(
          `${clock(now)}  ${a.rule}: ${a.knob} ${a.from} -> ${a.to}  ${a.reason}: ${a.message}`,
        );
      // Conditions when their status or reason changes, as `kubectl describe` would show them.
      for (const c of decision.conditions) {
        const key = `${c.status}/${c.reason}`;
        if (shown.get(c.type) === key) continue;
        shown.set(c.type, key);
        log.push(`${clock(now)}  condition ${c.type}=${c.status} ${c.reason}: ${c.message}`);
      }
      const current = state!;
      const command: { replicas?: number; quality: AutoscalerState['effective'] } = {
        quality: current.effective,
      };
      if (current.replicas !== undefined) command.replicas = current.replicas;
      return command;
    },
  };
}
