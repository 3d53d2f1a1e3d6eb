import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Gauge, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, type PrometheusInstance } from '../../dev/prometheus.ts';
import { eventually } from '../support/k8s.ts';

/** A tiny scrape target exposing one gauge through prom-client's real exposition format. */
async function metricsTarget(
  value: number,
): Promise<{ address: string; close: () => Promise<void> }> {
  const registry = new Registry();
  new Gauge({ name: 'zimage_test_value', help: 'test gauge', registers: [registry] }).set(value);
  const server = http.createServer((_req, res) => {
    void registry.metrics().then((text) => {
      res.setHeader('content-type', registry.contentType);
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let prom: PrometheusInstance;
const targets: Awaited<ReturnType<typeof metricsTarget>>[] = [];

beforeAll(async () => {
  targets.push(await metricsTarget(42), await metricsTarget(7));
  prom = await startPrometheus({ targets: { demo: [{ targets: [targets[0]!.address] }] } });
});
afterAll(async () => {
  await prom?.stop();
  await Promise.all(targets.map((t) => t.close()));
});

describe('Prometheus harness', () => {
  it('scrapes a target every second and answers PromQL with its value', async () => {
    const result = await eventually('a sample of zimage_test_value', async () => {
      const r = await prom.query('zimage_test_value{job="demo"}');
      return r.length > 0 ? r : undefined;
    });
    expect(Number(result[0]!.value[1])).toBe(42);
    const up = await prom.query('up{job="demo"}');
    expect(up.map((s) => s.value[1])).toEqual(['1']);
  });

  it('follows a rewritten file_sd target list without a restart', async () => {
    prom.setTargets('demo', [{ targets: [targets[1]!.address], labels: { pool: 'b' } }]);
    const result = await eventually('the new target scraped', async () => {
      const r = await prom.query('zimage_test_value{job="demo", pool="b"}');
      return r.length > 0 ? r : undefined;
    });
    expect(Number(result[0]!.value[1])).toBe(7);
  });

  it('rejects a bad query with the server error, not an empty result', async () => {
    await expect(prom.query('sum(')).rejects.toThrow(/query sum\( failed/);
  });
});

describe('promtool', () => {
  // The operator's own alert rules are unit-tested by promtool in alert-rules.test.ts.
  it('checks the generated config', () => {
    const config = path.join(prom.dir, 'prometheus.yml');
    expect(execFileSync('promtool', ['check', 'config', config]).toString()).toContain('SUCCESS');
  });
});
