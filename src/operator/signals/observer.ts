/**
 * What the sources tell the operator's metrics (signals/metrics.ts implements it): an
 * interface, so a source never imports prom-client and a test can count without a registry.
 */
import type { FetchErrorReason } from './http.ts';
import type { KeySignals, SourceKind } from './sample.ts';

/** Who failed: a Prometheus query, a runtime pod's scrape, a dcgm-exporter pod's scrape. */
export type Endpoint = 'prometheus' | 'runtime' | 'dcgm';

export interface SourceObserver {
  /** One tick of a source: the requests it sent, what it reports per object, how long it took. */
  sampled(
    source: SourceKind,
    requests: number,
    byKey: ReadonlyMap<string, KeySignals>,
    seconds: number,
  ): void;
  /** One failed query or scrape. */
  failed(endpoint: Endpoint, reason: FetchErrorReason): void;
}
