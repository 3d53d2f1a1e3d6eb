/**
 * The text-format parser and the histogram math of the direct source. Bodies are the runtime's
 * real /metrics (its own Registry) and dcgm-exporter's shape; the quantiles are the ones the
 * real Prometheus computes for the same buckets (test/integration/signal-queries.test.ts:
 * 1.95, 19.75, 0.4875).
 */
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  bucketDelta,
  bucketsOf,
  quantile,
  type Buckets,
} from '../../src/operator/signals/histogram.ts';
import { parseTextFormat } from '../../src/formats/prometheus-text.ts';
import { createRuntimeMetrics } from '../../src/runtime/metrics.ts';
import { dcgmBody } from '../support/signal-bodies.ts';

describe('text format', () => {
  it('reads the runtime’s real body: every family, labelled histograms kept apart', async () => {
    const metrics = createRuntimeMetrics();
    metrics.requests.inc({ code: '200' }, 5);
    metrics.requests.inc({ code: '429' }, 2);
    metrics.generationDuration.observe(1.5);
    const body = await metrics.registry.metrics();
    const parsed = parseTextFormat(body);
    expect(parsed.get('zimage_requests_total')).toEqual([
      { labels: { code: '200' }, value: 5 },
      { labels: { code: '429' }, value: 2 },
    ]);
    expect(parsed.get('zimage_generation_duration_seconds_count')).toEqual([
      { labels: {}, value: 1 },
    ]);
  });

  it('keeps the series of a labelled histogram apart (parse-prometheus-text-format merges them)', async () => {
    const registry = new Registry();
    const h = new Histogram({
      name: 'h',
      help: 'x',
      labelNames: ['code'],
      buckets: [1],
      registers: [registry],
    });
    h.observe({ code: '200' }, 0.5);
    h.observe({ code: '500' }, 5);
    h.observe({ code: '500' }, 5);
    const parsed = parseTextFormat(await registry.metrics());
    expect(parsed.get('h_count')).toEqual([
      { labels: { code: '200' }, value: 1 },
      { labels: { code: '500' }, value: 2 },
    ]);
    expect(parsed.get('h_bucket')?.filter((b) => b.labels['le'] === '1')).toEqual([
      { labels: { code: '200', le: '1' }, value: 1 },
      { labels: { code: '500', le: '1' }, value: 0 },
    ]);
  });

  it('reads dcgm-exporter’s shape', () => {
    const parsed = parseTextFormat(
      dcgmBody([{ gpu: 0, holder: 'ml/turbo-a', util: 95, usedMiB: 14_000, freeMiB: 2_380 }]),
    );
    expect(parsed.get('DCGM_FI_DEV_FB_USED')?.[0]).toMatchObject({
      labels: { gpu: '0', pod: 'turbo-a', namespace: 'ml', modelName: 'NVIDIA H100 80GB HBM3' },
      value: 14_000,
    });
  });

  it.each([
    { name: 'NaN', line: 'm NaN', want: NaN },
    { name: '+Inf', line: 'm +Inf', want: Infinity },
    { name: '-Inf', line: 'm -Inf', want: -Infinity },
    { name: 'exponent', line: 'm 1.5e-3', want: 0.0015 },
    { name: 'a timestamp after the value', line: 'm{a="b"} 3 1767225600000', want: 3 },
    {
      name: 'escapes in label values',
      line: 'm{a="q\\"x\\\\y\\nz"} 1',
      want: 1,
      labels: { a: 'q"x\\y\nz' },
    },
    { name: 'a trailing comma in the labels', line: 'm{a="b",} 2', want: 2, labels: { a: 'b' } },
    { name: 'an OpenMetrics exemplar', line: 'm_bucket{le="1"} 4 # {trace_id="abc"} 0.5', want: 4 },
  ])('value: $name', ({ line, want, labels }) => {
    const name = line.split(/[{ ]/)[0]!;
    const [sample] = parseTextFormat(`# HELP ${name} x\n${line}\n`).get(name) ?? [];
    expect(sample?.value).toBe(want);
    if (labels) expect(sample?.labels).toEqual(labels);
  });

  it.each([
    { name: 'no value', body: 'm{a="b"}\n', error: /line 1: expected a value/ },
    { name: 'a word for a value', body: 'm 1\n\nm lots\n', error: /line 3: bad value lots/ },
    { name: 'an unterminated label value', body: 'm{a="b} 1\n', error: /unterminated label value/ },
    { name: 'a label twice', body: 'm{a="1",a="2"} 1\n', error: /label a twice/ },
    { name: 'an HTML page', body: '<html>502</html>\n', error: /expected a metric name/ },
  ])('rejects the whole body: $name', ({ body, error }) => {
    expect(() => parseTextFormat(body)).toThrow(error);
  });
});

/** Cumulative buckets of `n` images of `seconds` each, with the runtime's real bounds. */
const bounds = [0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, Infinity];
function images(...groups: [n: number, seconds: number][]): Buckets {
  return bounds.map((le) => ({
    le,
    count: groups.reduce((sum, [n, s]) => sum + (s <= le ? n : 0), 0),
  }));
}

describe('histogram quantile (histogram_quantile semantics)', () => {
  it.each([
    { name: 'all in (1, 2]', b: images([20, 1.5]), want: 1.95 },
    { name: 'all in (15, 20]', b: images([20, 19]), want: 19.75 },
    { name: 'all in (0.25, 0.5]', b: images([20, 0.4]), want: 0.4875 },
    { name: 'all in the first bucket: lower bound 0', b: images([10, 0.05]), want: 0.095 },
    { name: 'the rank past the last finite bound: that bound', b: images([10, 900]), want: 300 },
    { name: 'no observations: NaN', b: images(), want: NaN },
    {
      name: 'a 5% tail: p95 at the edge of the fast bucket',
      b: images([95, 1.5], [5, 19]),
      want: 2,
    },
  ])('$name', ({ b, want }) => {
    if (Number.isNaN(want)) expect(quantile(0.95, b)).toBeNaN();
    else expect(quantile(0.95, b)).toBeCloseTo(want, 9);
  });

  it('bucket deltas: only what happened between two scrapes; a reset takes the new counts', () => {
    expect(bucketDelta(images([100, 0.4], [20, 1.5]), images([100, 0.4]))).toEqual(
      images([20, 1.5]),
    );
    expect(bucketDelta(images([3, 19]), images([100, 0.4]))).toEqual(images([3, 19]));
  });

  it('bucketsOf sums the series of a body (sum by le)', () => {
    const body = [
      'h_bucket{code="a",le="1"} 1',
      'h_bucket{code="a",le="+Inf"} 2',
      'h_bucket{code="b",le="1"} 3',
      'h_bucket{code="b",le="+Inf"} 3',
    ].join('\n');
    expect(bucketsOf(parseTextFormat(body), 'h')).toEqual([
      { le: 1, count: 4 },
      { le: Infinity, count: 5 },
    ]);
  });
});
