/**
 * One container of a runner-backed pod, through its life as kubelet drives it: render its
 * environment, start the program (its own process group, its log under the pod's folder),
 * probe it (startup, then readiness and liveness), restart it with crash back-off per the
 * pod's restartPolicy, and on termination run preStop, SIGTERM, and SIGKILL at the deadline.
 *
 * Processes die with the runner: they are started through `setpriv --pdeathsig SIGKILL`, so
 * even a SIGKILLed runner leaves no orphan (the kernel signals them when it dies).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { Card } from '../../src/contract/card.ts';
import { podRootEnv } from '../../src/contract/labels.ts';
import { repoRoot } from '../paths.ts';
import { killGroup } from '../process.ts';
import { CrashBackoff, type BackoffOptions } from './backoff.ts';
import { ContainerConfigError, renderEnv, type DataLookup } from './env.ts';
import { rewritePaths, type PodVolumes } from './mounts.ts';
import { kubeTime, type ContainerView, type Terminated } from './pod-status.ts';
import { Prober } from './probes.ts';
import { programFor, projectNode } from './programs.ts';

export interface ContainerDeps {
  pod: () => V1Pod;
  index: number;
  podIp: string;
  podDir: string;
  volumes: PodVolumes;
  lookup: DataLookup;
  allocatable: Record<string, string>;
  /** The card model of the node's GPUs, if it has any. */
  card: Card | undefined;
  /** The fleet paces runtime pods (programs.ts runtimeOverrides). */
  pacing: boolean;
  /** Where pods reach the API server (KUBERNETES_SERVICE_HOST/PORT). */
  apiServer: { host: string; port: number };
  backoff?: BackoffOptions;
  onChange: () => void;
  onPid: (pid: number, alive: boolean) => void;
  log: (line: string) => void;
}

interface Running {
  pid: number;
  startedAt: Date;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const pdeathsig = fs.existsSync('/usr/bin/setpriv')
  ? ['/usr/bin/setpriv', '--pdeathsig', 'SIGKILL', '--']
  : [];
const signalNumbers: Partial<Record<NodeJS.Signals, number>> = {
  SIGKILL: 9,
  SIGTERM: 15,
  SIGINT: 2,
};
/** A container that cannot be created is retried this often (kubelet's pod sync period is ~10 s). */
const retryMs = 2_000;

export class ContainerRunner {
  readonly view: ContainerView;
  private readonly deps: ContainerDeps;
  private readonly spec: V1Container;
  private readonly backoff: CrashBackoff;
  private readonly stopping = new AbortController();
  private running: Running | undefined;
  private probers: Prober[] = [];
  private launched = false;
  private done: Promise<void> | undefined;

  constructor(deps: ContainerDeps) {
    this.deps = deps;
    this.spec = deps.pod().spec!.containers[deps.index]!;
    this.backoff = new CrashBackoff(deps.backoff);
    this.view = {
      name: this.spec.name,
      image: this.spec.image ?? '',
      state: { kind: 'waiting', reason: 'ContainerCreating' },
      restartCount: 0,
      started: false,
      ready: false,
    };
  }

  /** Begin the lifecycle; `restartCount` continues the count a previous runner left. */
  start(restartCount = 0): void {
    this.view.restartCount = restartCount;
    this.done = this.life();
  }

  private async life(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      const exit = await this.runOnce();
      if (signal.aborted) break;
      if (!exit) {
        await sleep(retryMs, undefined, { signal }).catch(() => {});
        continue;
      }
      const policy = this.deps.pod().spec?.restartPolicy ?? 'Always';
      if (policy === 'Never' || (policy === 'OnFailure' && exit.exitCode === 0)) break;
      const ranMs = Date.parse(exit.finishedAt) - Date.parse(exit.startedAt);
      const delay = this.backoff.next(ranMs);
      if (delay > 0) {
        const p = this.deps.pod().metadata!;
        this.setState({
          kind: 'waiting',
          reason: 'CrashLoopBackOff',
          message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${this.spec.name} pod=${p.name}_${p.namespace}(${p.uid})`,
        });
        await sleep(delay, undefined, { signal }).catch(() => {});
      }
    }
  }

  /** Start the program once and wait for it; undefined when it could not be created. */
  private async runOnce(): Promise<Terminated | undefined> {
    let argv: string[];
    let env: Record<string, string>;
    try {
      ({ argv, env } = await this.launchPlan());
    } catch (err) {
      if (!(err instanceof ContainerConfigError)) throw err;
      const reason = err.name === 'ImageError' ? 'ErrImagePull' : 'CreateContainerConfigError';
      this.setState({ kind: 'waiting', reason, message: err.message });
      return undefined;
    }
    if (this.stopping.signal.aborted) return undefined;
    if (this.launched) this.view.restartCount++;
    this.launched = true;
    const running = this.spawn(argv, env);
    this.running = running;
    this.view.containerId = `zimage-fleet://${running.pid}`;
    this.view.started = !this.spec.startupProbe;
    this.view.ready = this.view.started && !this.spec.readinessProbe;
    this.setState({ kind: 'running', startedAt: kubeTime(running.startedAt) });
    this.startProbes();
    const { code, signal } = await running.exited;
    this.stopProbes();
    this.running = undefined;
    this.deps.onPid(running.pid, false);
    const exitCode = code ?? 128 + (signalNumbers[signal ?? 'SIGKILL'] ?? 9);
    const terminated: Terminated = {
      kind: 'terminated',
      exitCode,
      ...(signal ? { signal: signalNumbers[signal] ?? 0 } : {}),
      reason: exitCode === 0 ? 'Completed' : 'Error',
      startedAt: kubeTime(running.startedAt),
      finishedAt: kubeTime(new Date()),
    };
    this.view.last = terminated;
    this.view.started = false;
    this.view.ready = false;
    delete this.view.containerId;
    this.setState(terminated);
    return terminated;
  }

  private async launchPlan(): Promise<{ argv: string[]; env: Record<string, string> }> {
    const { deps, spec } = this;
    const at = `spec.containers[${deps.index}]`;
    const program = programFor(spec.image, spec.command);
    if (!program && spec.command?.length && programFor(spec.image)) {
      throw new ContainerConfigError(
        `${at}.command: the local pod runner runs the image's own program, or the router of the operator image (dev/fleet/programs.ts); leave command unset`,
      );
    }
    if (!program) {
      const err = new ContainerConfigError(
        `${at}.image: "${spec.image}" has no local program (dev/fleet/programs.ts runs zimage-runtime, zimage-operator's router and dcgm-exporter images)`,
      );
      err.name = 'ImageError';
      throw err;
    }
    const podEnv = await renderEnv(deps.pod(), deps.index, deps.lookup, deps.allocatable);
    const { root, mounts } = deps.volumes.containerRoot(deps.index, podEnv);
    rewritePaths(podEnv, root, mounts);
    const pod = deps.pod();
    const home = path.join(deps.podDir, 'containers', spec.name, 'home');
    fs.mkdirSync(home, { recursive: true });
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: home,
      HOSTNAME: pod.spec?.hostname ?? pod.metadata!.name!,
      // kubelet points these at the `kubernetes` Service; with no kube-proxy here, pods reach
      // the API server on loopback.
      KUBERNETES_SERVICE_HOST: deps.apiServer.host,
      KUBERNETES_SERVICE_PORT: String(deps.apiServer.port),
      KUBERNETES_SERVICE_PORT_HTTPS: String(deps.apiServer.port),
      ...Object.fromEntries(podEnv),
      ...program.env({ podIp: deps.podIp, podEnv, card: deps.card, pacing: deps.pacing }),
      [podRootEnv]: root,
    };
    return { argv: [projectNode, path.join(repoRoot, program.entry), ...(spec.args ?? [])], env };
  }

  private spawn(argv: string[], env: Record<string, string>): Running {
    const logDir = path.join(this.deps.podDir, 'logs', this.spec.name);
    fs.mkdirSync(logDir, { recursive: true });
    const log = fs.openSync(path.join(logDir, `${this.view.restartCount}.log`), 'a');
    const [command, ...args] = [...pdeathsig, ...argv];
    let child;
    try {
      child = spawn(command!, args, {
        detached: true,
        stdio: ['ignore', log, log],
        env,
        cwd: repoRoot,
      });
    } finally {
      fs.closeSync(log);
    }
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }));
        child.once('error', () => resolve({ code: 127, signal: null }));
      },
    );
    const pid = child.pid ?? -1;
    if (pid > 0) this.deps.onPid(pid, true);
    return { pid, startedAt: new Date(), exited };
  }

  private startProbes(): void {
    const { spec, deps } = this;
    const readiness = () => {
      if (spec.readinessProbe) {
        this.probe(spec.readinessProbe, (ok) => {
          this.view.ready = ok && this.view.started;
          deps.onChange();
        });
      }
      if (spec.livenessProbe) {
        this.probe(spec.livenessProbe, (ok, detail) => {
          if (!ok) this.restartUnhealthy(`Liveness probe failed: ${detail}`);
        });
      }
    };
    if (!spec.startupProbe) return readiness();
    this.probe(
      spec.startupProbe,
      (ok, detail) => {
        if (!ok) return this.restartUnhealthy(`Startup probe failed: ${detail}`);
        this.view.started = true;
        this.view.ready = !spec.readinessProbe;
        deps.onChange();
        readiness();
      },
      true,
    );
  }

  private probe(
    probe: NonNullable<V1Container['readinessProbe']>,
    onChange: (ok: boolean, detail: string) => void,
    once = false,
  ): void {
    const prober: Prober = new Prober(probe, this.deps.podIp, this.spec, (ok, detail) => {
      if (once && ok) prober.stop();
      onChange(ok, detail);
    });
    this.probers.push(prober);
    prober.start();
  }

  private stopProbes(): void {
    for (const p of this.probers) p.stop();
    this.probers = [];
  }

  /** kubelet kills a container that fails liveness (or startup) and restarts it. */
  private restartUnhealthy(reason: string): void {
    const running = this.running;
    if (!running) return;
    this.deps.log(`${this.deps.pod().metadata!.name}/${this.spec.name}: ${reason}; killing it`);
    this.stopProbes();
    const grace = (this.deps.pod().spec?.terminationGracePeriodSeconds ?? 30) * 1000;
    void this.signal(running, grace);
  }

  private async signal(running: Running, graceMs: number): Promise<void> {
    killGroup(running.pid, 'SIGTERM');
    const timedOut = await Promise.race([
      running.exited.then(() => false),
      sleep(Math.max(0, graceMs)).then(() => true),
    ]);
    if (timedOut) killGroup(running.pid, 'SIGKILL');
    await running.exited;
    // The group may hold helpers that outlived the leader.
    killGroup(running.pid, 'SIGKILL');
  }

  private setState(state: ContainerView['state']): void {
    this.view.state = state;
    this.deps.onChange();
  }

  /**
   * Stop for good before `deadline` (epoch ms): preStop hook, SIGTERM, SIGKILL at the
   * deadline (at least 2 s after SIGTERM, kubelet's minimum), and no restart after.
   */
  async terminate(deadline: number): Promise<void> {
    this.stopping.abort();
    this.view.ready = false;
    this.deps.onChange();
    const running = this.running;
    if (running) {
      this.stopProbes();
      await this.preStop(deadline);
      await this.signal(running, Math.max(2_000, deadline - Date.now()));
    }
    await this.done;
  }

  private async preStop(deadline: number): Promise<void> {
    const hook = this.spec.lifecycle?.preStop;
    if (!hook) return;
    const remaining = Math.max(0, deadline - Date.now());
    if (hook.sleep) await sleep(Math.min(hook.sleep.seconds * 1000, remaining));
    else if (hook.httpGet) {
      const port = hook.httpGet.port;
      const url = `http://${hook.httpGet.host ?? this.deps.podIp}:${typeof port === 'number' ? port : (this.spec.ports?.find((p) => p.name === port)?.containerPort ?? port)}${hook.httpGet.path ?? '/'}`;
      await fetch(url, { signal: AbortSignal.timeout(Math.max(1, remaining)) }).catch(() => {});
    } else this.deps.log(`${this.spec.name}: exec preStop hooks are not supported; skipped`);
  }

  /** The pod object is gone (force deletion): stop within 2 s. */
  kill(): Promise<void> {
    return this.terminate(Date.now() + 2_000);
  }
}
