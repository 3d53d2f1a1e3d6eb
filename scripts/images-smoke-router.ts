/**
 * images:smoke's router part (scripts/images-smoke.ts runs it while its CPU runtime container
 * serves): the operator image started as the operator starts a router pod, with the command,
 * memory limit, writable /tmp and environment that buildRouterDeployment renders for
 * deploy/examples/turbo.yaml with spec.router on, except that the runtime's URL
 * (ZIMAGE_ROUTER_PODS) stands in for discovery through the API. Then, with --init and without
 * (a pod runs it as PID 1): /readyz, a request for 2 images through it (the images one runtime
 * makes for the same request, seeds 7 and 8), the client's wait on /metrics, a bad body answered
 * with the runtime's own 400, and SIGTERM: exit 0 once it has drained.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { routerMetrics } from '../src/contract/metrics.ts';
import { routerEnv } from '../src/contract/router.ts';
import { runtimePaths } from '../src/contract/runtime.ts';
import { parseTextFormat } from '../src/formats/prometheus-text.ts';
import { quantityValue } from '../src/formats/quantity.ts';
import { zimageDeploymentSpec } from '../src/operator/api/v1alpha1/spec.ts';
import type { ZImageDeployment } from '../src/operator/api/v1alpha1/types.ts';
import { buildRouterDeployment } from '../src/operator/builders/router.ts';
import type { BuiltImage } from '../dev/images/build.ts';
import type { Container, ContainerOptions } from '../dev/images/container.ts';
import { repoRoot } from '../dev/paths.ts';
import { freePorts } from '../dev/ports.ts';

/** images-smoke.ts's own helpers, so both parts start, check and stop containers alike. */
export interface SmokeKit {
  start(options: ContainerOptions): Container;
  check(ok: boolean, what: string, detail?: string): void;
  waitHttp(url: string, what: string, container: Container): Promise<void>;
  stopsOnSigterm(container: Container, what: string): void;
}

/** The router container the operator renders for deploy/examples/turbo.yaml, router on. */
function renderedRouter(image: string) {
  const file = path.join(repoRoot, 'deploy', 'examples', 'turbo.yaml');
  const doc = YAML.parse(fs.readFileSync(file, 'utf8')) as {
    metadata: { name: string };
    spec: Record<string, unknown>;
  };
  const cr: ZImageDeployment = {
    metadata: { name: doc.metadata.name, namespace: 'default', uid: 'images-smoke' },
    spec: zimageDeploymentSpec.parse({ ...doc.spec, router: { enabled: true } }),
  };
  const pod = buildRouterDeployment(cr, { image }).spec!.template.spec!;
  return pod.containers[0]!;
}

function routerOptions(image: string, name: string, init: boolean, env: Record<string, string>) {
  const c = renderedRouter(image);
  // Literal values only: the pod selector and the namespace (downward API) are for discovery,
  // which ZIMAGE_ROUTER_PODS replaces here.
  const rendered = (c.env ?? []).flatMap((e) =>
    e.value !== undefined && e.name !== routerEnv.podSelector ? [[e.name, e.value] as const] : [],
  );
  const memory = c.resources?.limits?.['memory'];
  return {
    image: c.image!,
    name,
    init,
    command: c.command!,
    // podman reads plain bytes; the pod's limit is a Kubernetes quantity (512Mi).
    ...(memory ? { memory: String(quantityValue(memory)) } : {}),
    tmpfs: (c.volumeMounts ?? []).map((m) => m.mountPath),
    env: { ...Object.fromEntries(rendered), ...env },
  } satisfies ContainerOptions;
}

interface ImagesBody {
  data?: { b64_json?: string; seed?: number }[];
}

async function post(url: string, body: string) {
  const res = await fetch(`${url}${runtimePaths.generate}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: res.status, body: await res.text() };
}

/** Width x height of a PNG (its IHDR), or why it is none. */
function pngSize(b64: string | undefined): string {
  const png = Buffer.from(b64 ?? '', 'base64');
  if (png.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a') return 'not a PNG';
  return `${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`;
}

const twoImages = JSON.stringify({ prompt: 'a red fox in snow', size: '128x64', n: 2, seed: 7 });

/** Bodies the runtime refuses with 400; the router validates with the same schema. */
const badBodies: [string, string][] = [
  ['a size that is no size', JSON.stringify({ prompt: 'a fox', size: 'big' })],
  ['no prompt', JSON.stringify({ size: '128x64' })],
  ['not JSON', '{"prompt": "a fox",'],
];

async function checkServes(kit: SmokeKit, url: string, runtimeUrl: string, what: string) {
  const [routed, direct] = [await post(url, twoImages), await post(runtimeUrl, twoImages)];
  const images = (JSON.parse(routed.body) as ImagesBody).data ?? [];
  kit.check(
    routed.status === 200 &&
      images.length === 2 &&
      images.every((d) => pngSize(d.b64_json) === '128x64') &&
      images.map((d) => d.seed).join() === '7,8',
    `${what}: n=2 through it gives 2 PNGs of 128x64, seeds 7 and 8`,
    routed.body.slice(0, 500),
  );
  kit.check(
    images.map((d) => d.b64_json).join() ===
      ((JSON.parse(direct.body) as ImagesBody).data ?? []).map((d) => d.b64_json).join(),
    `${what}: the images are byte for byte the runtime's own for the same request`,
  );
  const metrics = parseTextFormat(await (await fetch(`${url}${runtimePaths.metrics}`)).text());
  const waits = metrics.get(`${routerMetrics.wait}_count`)?.[0]?.value;
  kit.check(waits === 2, `${what}: /metrics has ${routerMetrics.wait} for 2 images (${waits})`);
  for (const [name, body] of badBodies) {
    const [r, d] = [await post(url, body), await post(runtimeUrl, body)];
    kit.check(
      r.status === 400 && d.status === 400 && r.body === d.body,
      `${what}: ${name} gets the runtime's own 400`,
      `router ${r.status} ${r.body}\nruntime ${d.status} ${d.body}`,
    );
  }
}

/** The router in front of the runtime at `runtimeUrl`, with --init and without. */
export async function routerSmoke(kit: SmokeKit, image: BuiltImage, runtimeUrl: string) {
  for (const init of [true, false]) {
    const [port] = await freePorts(1);
    const what = `router ${init ? 'with' : 'without'} --init`;
    const c = kit.start(
      routerOptions(image.ref, `zimage-smoke-router-${init ? 'init' : 'noinit'}`, init, {
        [routerEnv.host]: '127.0.0.1',
        [routerEnv.port]: String(port),
        [routerEnv.staticPods]: runtimeUrl,
      }),
    );
    const url = `http://127.0.0.1:${port}`;
    await kit.waitHttp(`${url}${runtimePaths.readyz}`, `${what}: /readyz`, c);
    await checkServes(kit, url, runtimeUrl, what);
    // It drains first: /readyz off and admitting for 5 s, then exit (src/router/router.ts).
    kit.stopsOnSigterm(c, what);
  }
}
