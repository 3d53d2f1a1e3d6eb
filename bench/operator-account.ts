/**
 * Where the operator bench's time and memory went, from the operator process itself: its
 * metrics (queue wait, reconcile and API request durations, CPU, V8 heap) and /proc (RSS now
 * and at its peak). Taken at two moments and subtracted, so the figures cover one window.
 */
import fs from 'node:fs';
import type { OperatorProcess } from '../dev/operator.ts';
import type { Row } from './cluster.ts';

export interface Account {
  at: number;
  rssMiB: number;
  peakRssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  cpuSeconds: number;
  queueWaitSeconds: number;
  reconcileSeconds: number;
  reconciles: number;
  apiSeconds: number;
  requests: number;
}

function procStatusMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
}

export async function account(op: OperatorProcess): Promise<Account> {
  const m = (name: string) => op.metric(`zimage_operator_${name}`);
  const pid = op.child.pid!;
  return {
    at: performance.now(),
    rssMiB: procStatusMiB(pid, 'VmRSS'),
    peakRssMiB: procStatusMiB(pid, 'VmHWM'),
    heapUsedMiB: (await m('nodejs_heap_size_used_bytes')) / 2 ** 20,
    heapTotalMiB: (await m('nodejs_heap_size_total_bytes')) / 2 ** 20,
    externalMiB: (await m('nodejs_external_memory_bytes')) / 2 ** 20,
    cpuSeconds: await m('process_cpu_seconds_total'),
    queueWaitSeconds: await m('queue_wait_seconds_sum'),
    reconcileSeconds: await m('reconcile_duration_seconds_sum'),
    reconciles: await m('reconcile_duration_seconds_count'),
    apiSeconds: await m('api_request_duration_seconds_sum'),
    requests: await m('api_requests_total'),
  };
}

/**
 * How the wall time to all Ready splits. Per object: its queue wait and reconcile time summed
 * over its reconciles (the reconcile's own API requests counted apart). Overall: how busy the
 * operator's workers and CPU were; what they were not busy with is the control plane's turn
 * (controllers, scheduler, kwok) or the bench's own creates.
 */
export function timeRows(from: Account, to: Account, count: number, workers: number): Row[] {
  const wall = (to.at - from.at) / 1000;
  const per = (x: number) => (x / count).toFixed(2);
  const reconcile = to.reconcileSeconds - from.reconcileSeconds;
  const wait = to.queueWaitSeconds - from.queueWaitSeconds;
  const api = to.apiSeconds - from.apiSeconds;
  const cpu = to.cpuSeconds - from.cpuSeconds;
  const reconciles = to.reconciles - from.reconciles;
  const busy = reconcile / (workers * wall);
  return [
    {
      name: 'operator time per ZImageDeployment (to Ready): queue wait + reconcile',
      value: `${per(wait)} s + ${per(reconcile)} s`,
      detail: `${(reconciles / count).toFixed(1)} reconciles per object; API request time ${per(api)} s per object, summed over all the operator's requests (a reconcile's applies run in parallel; informer lists included)`,
    },
    {
      name: 'operator share of the wall time to Ready',
      value: `workers ${(busy * 100).toFixed(0)}% busy`,
      detail: `${workers} workers x ${wall.toFixed(1)} s; operator CPU ${cpu.toFixed(1)} s (${((cpu / wall) * 100).toFixed(0)}% of one core); the rest is the control plane and the creates`,
    },
  ];
}

export function memoryRows(ready: Account, steady: Account, count: number): Row[] {
  const mib = (x: number) => `${Math.round(x)} MiB`;
  return [
    {
      name: 'operator memory with all Ready',
      value: `${mib(ready.rssMiB)} RSS`,
      detail: `peak ${mib(ready.peakRssMiB)}; V8 heap ${mib(ready.heapUsedMiB)} used of ${mib(ready.heapTotalMiB)}, external ${mib(ready.externalMiB)}; ${count} objects and ~${count * 7} children cached`,
    },
    {
      name: 'operator memory after the steady window',
      value: `${mib(steady.rssMiB)} RSS`,
      detail: `peak ${mib(steady.peakRssMiB)}; V8 heap ${mib(steady.heapUsedMiB)} used of ${mib(steady.heapTotalMiB)}, external ${mib(steady.externalMiB)}`,
    },
  ];
}
