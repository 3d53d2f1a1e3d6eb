/**
 * Pod status as kubelet writes it, from what the runner knows about the pod's processes:
 * phase, pod and host IPs, start time, containerStatuses (state, lastState, restartCount,
 * started, ready) and the conditions kubelet owns (PodReadyToStartContainers, Initialized,
 * ContainersReady, Ready; PodScheduled stays the scheduler's). Pure: the runner sends the
 * result as a strategic merge patch of pods/status (conditions merge by type).
 */
import type { V1Pod } from '@kubernetes/client-node';

export type ContainerState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: string }
  | Terminated;

export interface Terminated {
  kind: 'terminated';
  exitCode: number;
  signal?: number;
  reason: string;
  message?: string;
  startedAt: string;
  finishedAt: string;
}

export interface ContainerView {
  name: string;
  image: string;
  state: ContainerState;
  last?: Terminated;
  restartCount: number;
  /** The startup probe passed (or there is none) since the last start. */
  started: boolean;
  /** The readiness probe passes (or there is none) and the container runs. */
  ready: boolean;
  /** `zimage-fleet://<pid>` of the running process. */
  containerId?: string;
}

export interface PodView {
  podIP?: string;
  hostIP: string;
  startTime: string;
  containers: ContainerView[];
  /** Phase once the pod will not run again (restartPolicy Never/OnFailure). */
  terminal?: 'Succeeded' | 'Failed';
}

/** Kubernetes times have second precision: RFC 3339 without fractions. */
export const kubeTime = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function stateJson(s: ContainerState): Record<string, unknown> {
  switch (s.kind) {
    case 'waiting':
      return { waiting: { reason: s.reason, ...(s.message ? { message: s.message } : {}) } };
    case 'running':
      return { running: { startedAt: s.startedAt } };
    case 'terminated': {
      const { kind: _k, ...rest } = s;
      return { terminated: rest };
    }
  }
}

function phaseOf(view: PodView): string {
  if (view.terminal) return view.terminal;
  const ran = view.containers.some(
    (c) => c.state.kind !== 'waiting' || c.restartCount > 0 || c.last !== undefined,
  );
  return ran ? 'Running' : 'Pending';
}

type Condition = { type: string; status: 'True' | 'False'; reason?: string; message?: string };

function conditionsOf(pod: V1Pod, view: PodView): Condition[] {
  const unready = view.containers.filter((c) => !c.ready).map((c) => c.name);
  const containersReady: Condition =
    unready.length === 0 && view.containers.length > 0
      ? { type: 'ContainersReady', status: 'True' }
      : {
          type: 'ContainersReady',
          status: 'False',
          reason: 'ContainersNotReady',
          message: `containers with unready status: [${unready.join(' ')}]`,
        };
  // Readiness gates are other controllers' conditions; Ready waits for them, as kubelet's does.
  const gates = (pod.spec?.readinessGates ?? []).map((g) => g.conditionType);
  const openGates = gates.filter(
    (g) => pod.status?.conditions?.find((c) => c.type === g)?.status !== 'True',
  );
  const ready: Condition =
    containersReady.status === 'True' && openGates.length === 0
      ? { type: 'Ready', status: 'True' }
      : {
          type: 'Ready',
          status: 'False',
          reason: openGates.length > 0 ? 'ReadinessGatesNotReady' : 'ContainersNotReady',
          message:
            openGates.length > 0
              ? `corresponding condition of pod readiness gate "${openGates[0]}" does not exist or is not True`
              : (containersReady.message ?? ''),
        };
  return [
    { type: 'PodReadyToStartContainers', status: view.podIP ? 'True' : 'False' },
    { type: 'Initialized', status: 'True' },
    containersReady,
    ready,
  ];
}

/** The status kubelet would report; lastTransitionTime kept while a condition's status holds. */
export function podStatus(pod: V1Pod, view: PodView, now: Date): Record<string, unknown> {
  const previous = new Map((pod.status?.conditions ?? []).map((c) => [c.type, c]));
  const conditions = conditionsOf(pod, view).map((c) => {
    const before = previous.get(c.type);
    const since =
      before?.status === c.status && before.lastTransitionTime
        ? kubeTime(new Date(before.lastTransitionTime))
        : kubeTime(now);
    // null, not absent: the strategic merge patch must clear a reason a False condition had.
    return {
      reason: null,
      message: null,
      ...c,
      lastProbeTime: null,
      lastTransitionTime: since,
    };
  });
  return {
    phase: phaseOf(view),
    hostIP: view.hostIP,
    hostIPs: [{ ip: view.hostIP }],
    ...(view.podIP ? { podIP: view.podIP, podIPs: [{ ip: view.podIP }] } : {}),
    startTime: view.startTime,
    conditions,
    containerStatuses: view.containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: `zimage-fleet://${c.image}`,
      ...(c.containerId ? { containerID: c.containerId } : {}),
      ready: c.ready,
      started: c.started,
      restartCount: c.restartCount,
      state: stateJson(c.state),
      lastState: c.last ? stateJson(c.last) : {},
    })),
  };
}
