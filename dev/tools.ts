import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { cacheDir, repoRoot } from './paths.ts';

/**
 * Every Go tool the local cluster needs, each built from a wrapper module under tools/go/
 * (etcd's and Kubernetes' own go.mod files carry replace lines, so `go install mod@v` fails).
 * Versions are the ones the wrapper's go.mod requires; a unit test keeps the two in step.
 */
export const goTools = {
  kubernetes: {
    module: 'k8s.io/kubernetes',
    version: 'v1.37.2',
    binaries: {
      'kube-apiserver': 'k8s.io/kubernetes/cmd/kube-apiserver',
      'kube-controller-manager': 'k8s.io/kubernetes/cmd/kube-controller-manager',
      'kube-scheduler': 'k8s.io/kubernetes/cmd/kube-scheduler',
      kubectl: 'k8s.io/kubernetes/cmd/kubectl',
    },
    // What hack/lib/version.sh sets, so /version and the emulation version are right.
    ldflags: [
      'k8s.io/component-base/version.gitVersion=v1.37.2',
      'k8s.io/component-base/version.gitMajor=1',
      'k8s.io/component-base/version.gitMinor=37',
      'k8s.io/component-base/version.gitTreeState=clean',
      'k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z',
      'k8s.io/client-go/pkg/version.gitVersion=v1.37.2',
      'k8s.io/client-go/pkg/version.gitMajor=1',
      'k8s.io/client-go/pkg/version.gitMinor=37',
    ],
  },
  etcd: {
    module: 'go.etcd.io/etcd/server/v3',
    version: 'v3.6.16',
    binaries: { etcd: 'go.etcd.io/etcd/server/v3' },
    ldflags: ['go.etcd.io/etcd/api/v3/version.GitSHA=v3.6.16'],
  },
  kwok: {
    module: 'sigs.k8s.io/kwok',
    version: 'v0.8.0',
    binaries: { kwok: 'sigs.k8s.io/kwok/cmd/kwok' },
    ldflags: [],
  },
  helm: {
    module: 'helm.sh/helm/v3',
    version: 'v3.22.0',
    binaries: { helm: 'helm.sh/helm/v3/cmd/helm' },
    ldflags: ['helm.sh/helm/v3/internal/version.version=v3.22.0'],
  },
  // Module v0.316.0 is Prometheus 3.16.0. Debian's prometheus has no Kubernetes service
  // discovery (removed in its packaging), which the local fleet's Prometheus needs; the build
  // tags keep only it (plus file and HTTP SD, always in): 1275 packages instead of 1518.
  prometheus: {
    module: 'github.com/prometheus/prometheus',
    version: 'v0.316.0',
    binaries: { prometheus: 'github.com/prometheus/prometheus/cmd/prometheus' },
    ldflags: ['github.com/prometheus/common/version.Version=3.16.0'],
    tags: ['remove_all_sd', 'enable_kubernetes_sd'],
  },
} as const;

export type GoToolName = keyof typeof goTools;
export type BinaryName = {
  [K in GoToolName]: keyof (typeof goTools)[K]['binaries'];
}[GoToolName];

/**
 * One Go toolchain for every build. GOTOOLCHAIN names it exactly: a machine whose own Go is
 * this version uses it as is; any other fetches it from the Go module proxy.
 */
export const goToolchain = 'go1.26.8';

/** Binaries used as-is from KUBEBUILDER_ASSETS when present there (envtest's layout). */
function fromAssets(binary: string): string | undefined {
  const assets = process.env['KUBEBUILDER_ASSETS'];
  if (!assets) return undefined;
  const candidate = path.join(assets, binary);
  return fs.existsSync(candidate) ? candidate : undefined;
}

function wrapperDir(tool: GoToolName): string {
  return path.join(repoRoot, 'tools', 'go', tool);
}

/**
 * Cache key: anything that changes the binaries (wrapper go.mod/go.sum, flags, toolchain).
 * Keyed folders never need invalidation; an old one is simply no longer used.
 */
export function toolKey(tool: GoToolName): string {
  const dir = wrapperDir(tool);
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum']) hash.update(fs.readFileSync(path.join(dir, file)));
  hash.update(JSON.stringify(goTools[tool]));
  hash.update(goToolchain);
  return `${goTools[tool].version}-${hash.digest('hex').slice(0, 12)}`;
}

function toolBinDir(tool: GoToolName): string {
  return path.join(cacheDir(), 'bin', tool, toolKey(tool));
}

function ownerOf(binary: BinaryName): GoToolName {
  for (const [tool, spec] of Object.entries(goTools)) {
    if (binary in spec.binaries) return tool as GoToolName;
  }
  throw new Error(`unknown binary ${binary}`);
}

/** Path of a built binary, or of the one in KUBEBUILDER_ASSETS; throws if neither exists. */
export function binaryPath(binary: BinaryName): string {
  const assets = fromAssets(binary);
  if (assets) return assets;
  const built = path.join(toolBinDir(ownerOf(binary)), binary);
  if (!fs.existsSync(built)) {
    throw new Error(`${binary} is not built yet (looked for ${built}). Run: npm run tools`);
  }
  return built;
}

function goEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOTOOLCHAIN: goToolchain,
    // Static binaries: nothing of the host's libc leaks in, and cgo would slow the build.
    CGO_ENABLED: '0',
    GOFLAGS: '-mod=readonly -buildvcs=false',
  };
}

type Log = (line: string) => void;

async function run(command: string, args: string[], cwd: string, onLine: Log): Promise<void> {
  const child = spawn(command, args, { cwd, env: goEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const rl = readline.createInterface({ input: child.stderr });
  rl.on('line', (line) => {
    tail.push(line);
    if (tail.length > 30) tail.shift();
    onLine(line);
  });
  child.stdout.resume();
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed in ${cwd} (exit ${code}):\n${tail.join('\n')}`,
    );
  }
}

/** Go build tags of a tool (none for most). */
function tagArgs(tool: GoToolName): string[] {
  const spec = goTools[tool];
  return 'tags' in spec ? [`-tags=${spec.tags.join(',')}`] : [];
}

/** Count the packages a build links, for a progress percentage. */
function countPackages(tool: GoToolName): number {
  const packages = Object.values(goTools[tool].binaries);
  const out = execFileSync('go', ['list', '-deps', ...tagArgs(tool), ...packages], {
    cwd: wrapperDir(tool),
    env: goEnv(),
    maxBuffer: 64 * 1024 * 1024,
  });
  return out.toString().split('\n').filter(Boolean).length;
}

/** The file name `go build` gives a main package: its last path element, skipping a /vN suffix. */
export function defaultBinaryName(importPath: string): string {
  const parts = importPath.split('/');
  const last = parts.at(-1) ?? importPath;
  return /^v\d+$/.test(last) && parts.length > 1 ? parts.at(-2)! : last;
}

/** Build one tool's binaries into the cache unless they are there already. */
export async function buildTool(
  tool: GoToolName,
  log: Log,
): Promise<{ built: boolean; seconds: number }> {
  const spec = goTools[tool];
  const names = Object.keys(spec.binaries);
  if (names.every((name) => fromAssets(name))) return { built: false, seconds: 0 };
  const dest = toolBinDir(tool);
  if (names.every((name) => fs.existsSync(path.join(dest, name))))
    return { built: false, seconds: 0 };

  const started = Date.now();
  log(`[${tool}] downloading modules for ${spec.module}@${spec.version}`);
  await run('go', ['mod', 'download'], wrapperDir(tool), () => {});
  const total = countPackages(tool);
  log(`[${tool}] compiling ${names.join(', ')} (${total} packages; the first build is long)`);
  // Build into a temporary folder and rename: an interrupted build never leaves a half set.
  const tmp = `${dest}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  let done = 0;
  const ldflags = ['-s', '-w', ...spec.ldflags.map((kv) => `-X=${kv}`)].join(' ');
  // `go build -v` prints each package as it compiles it: that is the progress we show, on a
  // timer, since single packages (k8s.io/api/core/v1) can take a minute on two cores.
  const report = setInterval(() => {
    const pct = Math.min(99, Math.round((100 * done) / total));
    const elapsed = Math.round((Date.now() - started) / 1000);
    log(`[${tool}] ${pct}% (${done}/${total} packages compiled, ${elapsed} s)`);
  }, 15_000);
  try {
    await run(
      'go',
      [
        'build',
        '-v',
        '-trimpath',
        ...tagArgs(tool),
        `-ldflags=${ldflags}`,
        '-o',
        tmp + path.sep,
        ...Object.values(spec.binaries),
      ],
      wrapperDir(tool),
      () => done++,
    );
  } finally {
    clearInterval(report);
  }
  // `go build -o dir/` names a binary after its import path (go.etcd.io/etcd/server/v3 -> server).
  for (const [name, pkg] of Object.entries(spec.binaries)) {
    const goName = defaultBinaryName(pkg);
    if (goName !== name) fs.renameSync(path.join(tmp, goName), path.join(tmp, name));
  }
  fs.rmSync(dest, { recursive: true, force: true });
  fs.renameSync(tmp, dest);
  const seconds = Math.round((Date.now() - started) / 1000);
  log(`[${tool}] built in ${seconds} s -> ${dest}`);
  return { built: true, seconds };
}

/**
 * Debian packages the tests need, each with the binaries that show it is installed: Prometheus,
 * promtool and Alertmanager (integration), and bubblewrap, which runs the runtime in a sandbox
 * shaped like its pod (read-only root, non-root uid) where no container engine exists.
 */
export const debianPackages = {
  prometheus: ['prometheus', 'promtool'],
  'prometheus-alertmanager': ['prometheus-alertmanager', 'amtool'],
  bubblewrap: ['bwrap'],
} as const;

export type DebianPackage = keyof typeof debianPackages;

function onPath(binary: string): boolean {
  return (process.env['PATH'] ?? '')
    .split(path.delimiter)
    .some((dir) => dir && fs.existsSync(path.join(dir, binary)));
}

/**
 * Install the given Debian packages (default: all of `debianPackages`) where a binary of theirs
 * is missing from PATH; a no-op when every one is there.
 */
export function ensureDebianPackages(
  log: Log,
  packages: readonly DebianPackage[] = Object.keys(debianPackages) as DebianPackage[],
): void {
  const missing = packages.filter((pkg) => debianPackages[pkg].some((b) => !onPath(b)));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing ${missing.join(', ')}; install them with: sudo apt-get install --no-install-recommends ${missing.join(' ')}`,
    );
  }
  log(`[debian] installing ${missing.join(', ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env,
  });
}

/** Build or find everything; returns per-tool build seconds (0 = cached). */
export async function ensureTools(
  log: Log = (line) => console.log(line),
  tools: readonly GoToolName[] = Object.keys(goTools) as GoToolName[],
): Promise<Record<string, number>> {
  ensureDebianPackages(log);
  const seconds: Record<string, number> = {};
  // Sequential on purpose: each `go build` already uses every core.
  for (const tool of tools) seconds[tool] = (await buildTool(tool, log)).seconds;
  return seconds;
}

/** Run the built kubectl against a kubeconfig; returns stdout, throws with stderr on failure. */
export function kubectl(kubeconfigPath: string, ...args: string[]): string {
  return execFileSync(binaryPath('kubectl'), [`--kubeconfig=${kubeconfigPath}`, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
}

/**
 * `kubectl wait --for=condition=Established` on CRDs just applied. kubectl fails at once,
 * instead of waiting, while a new CRD has no status yet (".status.conditions accessor error:
 * <nil>"), a window of milliseconds that a loaded host widens; that case is tried again every
 * 100 ms within the same 30 s.
 */
export function waitEstablished(kubeconfigPath: string, crds: readonly string[]): void {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      kubectl(kubeconfigPath, 'wait', '--for=condition=Established', '--timeout=30s', ...crds);
      return;
    } catch (err) {
      const stderr = String((err as { stderr?: unknown }).stderr ?? err);
      if (!stderr.includes('.status.conditions accessor error') || Date.now() > deadline) throw err;
      // A synchronous pause: the callers install manifests synchronously.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
}
