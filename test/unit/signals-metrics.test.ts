/**
 * The sources' operator metrics, read back from the registry's text: a value series while a
 * signal has a value, a missing series with the reason (and no value) while it has none, both
 * removed when the object goes.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createSignalMetrics, SignalMetricsObserver } from '../../src/operator/signals/metrics.ts';
import { allMissing, type KeySignals } from '../../src/operator/signals/sample.ts';
import { sourceSignals } from '../../src/operator/api/v1alpha1/signals.ts';

function signals(queueDepth: number | undefined): KeySignals {
  const out = allMissing('NoData', 'nothing');
  if (queueDepth !== undefined)
    out.queueDepth = { ok: true, value: queueDepth, intervalSeconds: 1, at: 0 };
  return out;
}

async function lines(registry: Registry, prefix: string): Promise<string[]> {
  const text = await registry.metrics();
  return text.split('\n').filter((l) => l.startsWith(prefix));
}

describe('signal metrics', () => {
  it('values, missing reasons, requests and errors; a gone object leaves no series', async () => {
    const registry = new Registry();
    const observer = new SignalMetricsObserver(createSignalMetrics(registry));
    observer.sampled('prometheus', 9, new Map([['ml/turbo', signals(7)]]), 0.02);
    observer.failed('prometheus', 'Timeout');
    const value =
      'zimage_operator_signal_value{namespace="ml",zimage_deployment="turbo",signal="queueDepth",source="prometheus"}';
    expect(await lines(registry, 'zimage_operator_signal_value')).toEqual([`${value} 7`]);
    const missing = await lines(registry, 'zimage_operator_signal_missing{');
    // Every signal but queueDepth.
    expect(missing).toHaveLength(sourceSignals.length - 1);
    expect(missing).toContain(
      'zimage_operator_signal_missing{namespace="ml",zimage_deployment="turbo",signal="gpuUtilization",source="prometheus",reason="NoData"} 1',
    );
    expect(await lines(registry, 'zimage_operator_signal_requests_per_tick')).toEqual([
      'zimage_operator_signal_requests_per_tick{source="prometheus"} 9',
    ]);
    expect(await lines(registry, 'zimage_operator_signal_errors_total')).toEqual([
      'zimage_operator_signal_errors_total{endpoint="prometheus",reason="Timeout"} 1',
    ]);

    // Next tick: the queue went missing (no value series left behind), the object then gone.
    observer.sampled('prometheus', 9, new Map([['ml/turbo', signals(undefined)]]), 0.02);
    expect(await lines(registry, 'zimage_operator_signal_value')).toEqual([]);
    expect(await lines(registry, 'zimage_operator_signal_missing{')).toHaveLength(
      sourceSignals.length,
    );
    observer.sampled('prometheus', 0, new Map(), 0.001);
    expect(await lines(registry, 'zimage_operator_signal_missing{')).toEqual([]);
    expect(await lines(registry, 'zimage_operator_signal_requests_total')).toEqual([
      'zimage_operator_signal_requests_total{source="prometheus"} 18',
    ]);
  });

  it('sample age: from the sample’s start to the decision that used it', async () => {
    const registry = new Registry();
    const observer = new SignalMetricsObserver(createSignalMetrics(registry));
    observer.recordUse({ source: 'direct', at: 10_000, byKey: new Map(), requests: 0 }, 10_750);
    expect(await lines(registry, 'zimage_operator_signal_sample_age_seconds')).toEqual([
      'zimage_operator_signal_sample_age_seconds{source="direct"} 0.75',
    ]);
  });
});
