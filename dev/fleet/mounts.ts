/**
 * A pod's volumes, set up the way kubelet would, in folders instead of mounts: a claim
 * resolves through its bound PersistentVolume to that volume's hostPath or local path; an
 * emptyDir is a fresh folder of the pod; a hostPath is a folder of the pod's (fake) node; a
 * projected volume gets its ServiceAccount token from the TokenRequest API (bound to the pod,
 * refreshed at 80% of its lifetime, as kubelet does), its ConfigMap keys and downward API
 * files. Secret and ConfigMap volumes are laid out as kubelet's AtomicWriter does and kept in
 * step with their object (atomic-writer.ts), so a rotated Secret reaches a running pod's files.
 * Each container then gets a root folder with every volumeMount linked at its mount
 * path (see podRootEnv). A volume that cannot be set up is an error naming the field.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CoreV1Api, V1Pod, V1Volume, V1VolumeProjection } from '@kubernetes/client-node';
import { writeVolume } from './atomic-writer.ts';
import { ContainerConfigError, expand, fieldValue, type DataLookup } from './env.ts';

/**
 * How often a Secret or ConfigMap volume is compared with its object and rewritten. Kubelet
 * takes up to its sync period (1 min) plus its cache's delay; the fleet is quicker so that
 * tests of a rotation wait seconds, by the same mechanism.
 */
export const volumeSyncMs = 3_000;

export interface MountContext {
  core: CoreV1Api;
  lookup: DataLookup;
  pod: V1Pod;
  /** `<cluster>/pods/<namespace>_<name>_<uid>`. */
  podDir: string;
  /** `<cluster>/nodes/<node>`: the fake node's filesystem, for hostPath volumes. */
  nodeDir: string;
  log: (line: string) => void;
}

function writeAtomic(file: string, content: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, content, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

export class PodVolumes {
  private readonly ctx: MountContext;
  private readonly dirs = new Map<string, string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(ctx: MountContext) {
    this.ctx = ctx;
  }

  /** Set up every volume; throws ContainerConfigError naming spec.volumes[i]. */
  async setup(): Promise<void> {
    for (const [i, volume] of (this.ctx.pod.spec?.volumes ?? []).entries()) {
      try {
        this.dirs.set(volume.name, await this.volumeDir(volume));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        throw new ContainerConfigError(`spec.volumes[${i}] (${volume.name}): ${message}`, {
          cause: err,
        });
      }
    }
  }

  /**
   * A fresh root folder for container `index` with its volumeMounts linked in; returns it and
   * the mount paths (longest first) for rewriting env values that name them.
   */
  containerRoot(index: number, env: ReadonlyMap<string, string>) {
    const container = this.ctx.pod.spec!.containers[index]!;
    const root = path.join(this.ctx.podDir, 'containers', container.name, 'root');
    fs.rmSync(root, { recursive: true, force: true });
    fs.mkdirSync(root, { recursive: true });
    const mounts: string[] = [];
    for (const [j, mount] of (container.volumeMounts ?? []).entries()) {
      const at = `spec.containers[${index}].volumeMounts[${j}]`;
      const dir = this.dirs.get(mount.name);
      if (!dir) throw new ContainerConfigError(`${at}: no volume named "${mount.name}"`);
      const sub = mount.subPathExpr ? expand(mount.subPathExpr, env) : mount.subPath;
      const source = sub ? path.join(dir, sub) : dir;
      if (sub && path.relative(dir, source).startsWith('..')) {
        throw new ContainerConfigError(`${at}.subPath: "${sub}" leaves the volume`);
      }
      if (!fs.existsSync(source)) {
        if (mount.readOnly) {
          throw new ContainerConfigError(`${at}.subPath: ${source} does not exist (read-only)`);
        }
        fs.mkdirSync(source, { recursive: true });
      }
      const target = path.join(root, mount.mountPath);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.symlinkSync(source, target);
      mounts.push(mount.mountPath);
    }
    return { root, mounts: mounts.sort((a, b) => b.length - a.length) };
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Run `fn` after `ms`, unless stopped first. */
  private later(ms: number, fn: () => void): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  private async volumeDir(volume: V1Volume): Promise<string> {
    const own = path.join(this.ctx.podDir, 'volumes', volume.name);
    if (volume.persistentVolumeClaim) return this.claimPath(volume.persistentVolumeClaim.claimName);
    if (volume.emptyDir) {
      fs.mkdirSync(own, { recursive: true });
      return own;
    }
    if (volume.hostPath) return this.hostPath(volume.hostPath.path, volume.hostPath.type);
    if (volume.projected) {
      for (const source of volume.projected.sources ?? []) await this.project(own, source);
      fs.mkdirSync(own, { recursive: true });
      return own;
    }
    return this.filesVolume(volume, own);
  }

  /** configMap, secret and downwardAPI volumes: files the runner writes. */
  private async filesVolume(volume: V1Volume, own: string): Promise<string> {
    if (volume.configMap || volume.secret) {
      const kind = volume.configMap ? 'ConfigMap' : 'Secret';
      const source = (volume.configMap ?? volume.secret)!;
      const name = volume.configMap?.name ?? volume.secret?.secretName ?? '';
      const project = async () => {
        const data = await this.payload(kind, name, source.items, source.optional);
        return writeVolume(own, data, source.defaultMode);
      };
      await project();
      this.keepInStep(`${kind} "${name}"`, project);
    } else if (volume.downwardAPI) {
      for (const item of volume.downwardAPI.items ?? []) this.writeField(own, item);
    } else {
      const kind = Object.keys(volume).find((k) => k !== 'name') ?? 'unknown';
      throw new Error(`${kind} volumes are not supported by the local pod runner`);
    }
    fs.mkdirSync(own, { recursive: true });
    return own;
  }

  private async claimPath(claimName: string): Promise<string> {
    const namespace = this.ctx.pod.metadata!.namespace!;
    const claim = await this.ctx.core
      .readNamespacedPersistentVolumeClaim({ name: claimName, namespace })
      .catch(() => undefined);
    if (!claim) throw new Error(`persistentvolumeclaim "${claimName}" not found`);
    const pvName = claim.spec?.volumeName;
    if (claim.status?.phase !== 'Bound' || !pvName) {
      throw new Error(`persistentvolumeclaim "${claimName}" is not bound`);
    }
    const pv = await this.ctx.core.readPersistentVolume({ name: pvName });
    const where = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
    if (!where) {
      throw new Error(
        `PersistentVolume "${pvName}" is neither hostPath nor local (the only kinds a folder can back)`,
      );
    }
    if (!fs.existsSync(where))
      throw new Error(`PersistentVolume "${pvName}": ${where} does not exist`);
    return where;
  }

  private hostPath(hostPath: string, type: string | undefined): string {
    if (type && !['', 'Directory', 'DirectoryOrCreate'].includes(type)) {
      throw new Error(`hostPath type "${type}" is not supported (only directories)`);
    }
    const dir = path.join(this.ctx.nodeDir, hostPath);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }

  private async project(dir: string, source: V1VolumeProjection): Promise<void> {
    if (source.serviceAccountToken) return this.token(dir, source.serviceAccountToken);
    if (source.configMap || source.secret) {
      const kind = source.configMap ? 'ConfigMap' : 'Secret';
      const ref = (source.configMap ?? source.secret)!;
      return this.writeData(dir, kind, ref.name ?? '', ref.items, ref.optional);
    }
    if (source.downwardAPI) {
      for (const item of source.downwardAPI.items ?? []) this.writeField(dir, item);
      return;
    }
    throw new Error(
      'projected source not supported (serviceAccountToken, configMap, secret, downwardAPI are)',
    );
  }

  private async token(
    dir: string,
    spec: { audience?: string; expirationSeconds?: number; path: string },
  ): Promise<void> {
    const { pod, core } = this.ctx;
    const expirationSeconds = spec.expirationSeconds ?? 3600;
    const request = async () => {
      const res = await core.createNamespacedServiceAccountToken({
        name: pod.spec?.serviceAccountName ?? 'default',
        namespace: pod.metadata!.namespace!,
        body: {
          spec: {
            audiences: spec.audience ? [spec.audience] : [],
            expirationSeconds,
            boundObjectRef: {
              apiVersion: 'v1',
              kind: 'Pod',
              name: pod.metadata!.name!,
              uid: pod.metadata!.uid!,
            },
          },
        },
      });
      const token = res.status?.token;
      if (!token) throw new Error('TokenRequest returned no token');
      writeAtomic(path.join(dir, spec.path), token);
    };
    await request();
    // kubelet renews a projected token once 80% of its lifetime has passed.
    const refresh = () =>
      this.later(expirationSeconds * 800, () => {
        request().then(refresh, (err: unknown) => {
          this.ctx.log(`token refresh for ${pod.metadata!.name} failed: ${String(err)}; retrying`);
          refresh();
        });
      });
    refresh();
  }

  /**
   * Rewrite a Secret or ConfigMap volume whenever its object changed, as kubelet's pod sync
   * does; while the object cannot be read (deleted, a key gone), the files stay as they were.
   */
  private keepInStep(what: string, project: () => Promise<boolean>): void {
    const pod = this.ctx.pod.metadata!.name;
    const again = () =>
      this.later(volumeSyncMs, () => {
        project()
          .then((changed) => changed && this.ctx.log(`${pod}: volume from ${what} updated`))
          .catch((err: unknown) =>
            this.ctx.log(`${pod}: updating the volume from ${what} failed (${String(err)})`),
          )
          .finally(again);
      });
    again();
  }

  private async writeData(
    dir: string,
    kind: 'ConfigMap' | 'Secret',
    name: string,
    items: { key: string; path: string }[] | undefined,
    optional: boolean | undefined,
  ): Promise<void> {
    const files = await this.payload(kind, name, items, optional);
    for (const [file, value] of Object.entries(files)) writeAtomic(path.join(dir, file), value);
  }

  /** The files a ConfigMap or Secret source projects: path -> content (items, or every key). */
  private async payload(
    kind: 'ConfigMap' | 'Secret',
    name: string,
    items: { key: string; path: string }[] | undefined,
    optional: boolean | undefined,
  ): Promise<Record<string, string>> {
    const data = await this.ctx.lookup(kind, this.ctx.pod.metadata!.namespace!, name);
    if (!data) {
      if (optional) return {};
      throw new Error(`${kind} "${name}" not found`);
    }
    const wanted = items ?? Object.keys(data).map((key) => ({ key, path: key }));
    const files: Record<string, string> = {};
    for (const item of wanted) {
      const value = data[item.key];
      if (value === undefined) throw new Error(`${kind} "${name}" has no key "${item.key}"`);
      files[item.path] = value;
    }
    return files;
  }

  private writeField(dir: string, item: { path: string; fieldRef?: { fieldPath: string } }): void {
    if (!item.fieldRef)
      throw new Error(`downwardAPI item "${item.path}": only fieldRef is supported`);
    writeAtomic(path.join(dir, item.path), fieldValue(this.ctx.pod, item.fieldRef.fieldPath));
  }
}

/** Env values naming a mount path point into the container's root instead (`/models/x`). */
export function rewritePaths(env: Map<string, string>, root: string, mounts: readonly string[]) {
  for (const [name, value] of env) {
    const mount = mounts.find((m) => value === m || value.startsWith(`${m.replace(/\/$/, '')}/`));
    if (mount) env.set(name, path.join(root, value));
  }
}
