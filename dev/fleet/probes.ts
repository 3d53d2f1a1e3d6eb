/**
 * kubelet's probes against a container the runner started: httpGet (a status in 200-399 is
 * success) and tcpSocket, to the pod IP unless the probe names a host; every periodSeconds
 * after initialDelaySeconds, with timeoutSeconds and the success/failure thresholds. exec and
 * grpc probes have no process to exec into here and always fail, with the reason in the log.
 */
import net from 'node:net';
import type { V1Container, V1Probe } from '@kubernetes/client-node';

export interface ProbeOutcome {
  ok: boolean;
  detail: string;
}

function portOf(container: V1Container, port: number | string): number {
  if (typeof port === 'number') return port;
  const named = container.ports?.find((p) => p.name === port)?.containerPort;
  if (named === undefined && !/^\d+$/.test(port))
    throw new Error(`no container port named "${port}"`);
  return named ?? Number(port);
}

export async function probeOnce(
  probe: V1Probe,
  podIp: string,
  container: V1Container,
): Promise<ProbeOutcome> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.httpGet) {
      const g = probe.httpGet;
      const scheme = (g.scheme ?? 'HTTP').toLowerCase();
      const url = `${scheme}://${g.host ?? podIp}:${portOf(container, g.port)}${g.path ?? '/'}`;
      const headers = Object.fromEntries((g.httpHeaders ?? []).map((h) => [h.name, h.value]));
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel();
      return {
        ok: res.status >= 200 && res.status < 400,
        detail: `HTTP probe ${url}: ${res.status}`,
      };
    }
    if (probe.tcpSocket) {
      const port = portOf(container, probe.tcpSocket.port);
      const host = probe.tcpSocket.host ?? podIp;
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect({ host, port, timeout: timeoutMs });
        socket.once('connect', () => (socket.destroy(), resolve()));
        socket.once('timeout', () => (socket.destroy(), reject(new Error('timeout'))));
        socket.once('error', reject);
      });
      return { ok: true, detail: `TCP probe ${host}:${port}: connected` };
    }
    return { ok: false, detail: 'exec and grpc probes are not supported by the local pod runner' };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Runs one probe until stopped. `onChange` hears the thresholded verdict each time it flips
 * (the first verdict too): success after successThreshold passes, failure after
 * failureThreshold misses, as kubelet counts them.
 */
export class Prober {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private verdict: boolean | undefined;
  private streak = 0;
  private streakOk = false;

  private readonly probe: V1Probe;
  private readonly podIp: string;
  private readonly container: V1Container;
  private readonly onChange: (ok: boolean, detail: string) => void;

  constructor(
    probe: V1Probe,
    podIp: string,
    container: V1Container,
    onChange: (ok: boolean, detail: string) => void,
  ) {
    this.probe = probe;
    this.podIp = podIp;
    this.container = container;
    this.onChange = onChange;
  }

  start(): void {
    this.schedule((this.probe.initialDelaySeconds ?? 0) * 1000);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    const outcome = await probeOnce(this.probe, this.podIp, this.container);
    if (this.stopped) return;
    this.streak = outcome.ok === this.streakOk ? this.streak + 1 : 1;
    this.streakOk = outcome.ok;
    const needed = outcome.ok
      ? (this.probe.successThreshold ?? 1)
      : (this.probe.failureThreshold ?? 3);
    if (this.streak >= needed && this.verdict !== outcome.ok) {
      this.verdict = outcome.ok;
      this.onChange(outcome.ok, outcome.detail);
    }
    this.schedule((this.probe.periodSeconds ?? 10) * 1000);
  }
}
