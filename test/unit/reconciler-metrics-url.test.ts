/**
 * A Prometheus URL the operator refuses to query is said in status (Degraded, naming the field
 * and why) whatever else the autoscaler reads; the query side is signals-prometheus.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { defaultUrlPolicy } from '../../src/operator/signals/prometheus/url-policy.ts';
import { FakeWorld } from '../support/fake-api.ts';
import { healthy, object, running, unroutedSpec } from '../support/reconciler-world.ts';

const withMetrics = (mode: string, url: string) => {
  const spec = unroutedSpec();
  return { ...spec, autoscaling: { mode, metrics: { direct: true, prometheus: { url } } } };
};

describe('Reconciler: the Prometheus URL policy in status', () => {
  it.each([
    {
      name: 'the metadata address, direct metrics on too: Degraded names the field and why',
      spec: withMetrics('DryRun', 'http://169.254.169.254/latest/meta-data/'),
      want: {
        status: 'True',
        reason: 'MetricsUrlRefused',
        message:
          'spec.autoscaling.metrics.prometheus.url "http://169.254.169.254/latest/meta-data/" is refused: 169.254.169.254 is a link-local or cloud metadata address, never a Prometheus',
      },
    },
    {
      name: 'loopback in Enforce',
      spec: withMetrics('Enforce', 'http://127.0.0.1:15000'),
      want: { status: 'True', reason: 'MetricsUrlRefused' },
    },
    {
      name: 'Off mode queries nothing: not degraded',
      spec: withMetrics('Off', 'http://169.254.169.254/'),
      want: { status: 'False', reason: 'AsExpected' },
    },
    {
      name: 'a cluster Service is queried: not degraded',
      spec: withMetrics('DryRun', 'http://prometheus.monitoring:9090'),
      want: { status: 'False', reason: 'AsExpected' },
    },
  ])('$name', async ({ spec, want }) => {
    const w = new FakeWorld();
    running(w, healthy);
    w.putCr(object(2, spec));
    await w.reconciler({ prometheusUrlPolicy: defaultUrlPolicy }).reconcile('ml/turbo');
    const degraded = w.statusWrites.at(-1)?.conditions?.find((c) => c.type === 'Degraded');
    expect(degraded).toMatchObject(want);
  });
});
