/**
 * Build the operator, CPU runtime and CUDA 13 runtime images (docs/images.md):
 *
 *   npm run images:build [-- operator runtime-cpu] [--store DIR] [--out DIR] [--registry R]
 *
 * Installs mmdebstrap, buildah, podman and skopeo first if they are missing (root; .debs
 * cached). Default store: ~/.cache/zimage-operator/images/store; default out: dist/images.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../dev/paths.ts';
import { buildImages } from '../dev/images/build.ts';
import { storeAt } from '../dev/images/engine.ts';
import { imageNames, type ImageName } from '../dev/images/images.ts';
import { imagesCacheDir } from '../dev/images/inputs.ts';
import { ensureImageTools } from '../dev/images/tools.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    store: { type: 'string' },
    out: { type: 'string' },
    registry: { type: 'string' },
  },
});
const unknown = positionals.filter((p) => !(imageNames as readonly string[]).includes(p));
if (unknown.length > 0) {
  console.error(`unknown image ${unknown.join(', ')}; the images are: ${imageNames.join(', ')}`);
  process.exit(2);
}

const started = Date.now();
let built;
try {
  ensureImageTools();
  built = buildImages({
    store: storeAt(values.store ?? imagesCacheDir('store')),
    outDir: path.resolve(values.out ?? path.join(repoRoot, 'dist', 'images')),
    images: positionals.length > 0 ? (positionals as ImageName[]) : imageNames,
    ...(values.registry ? { registry: values.registry } : {}),
  });
} catch (error) {
  // The message names the failing step and its output; Node's dump of the cause adds buffers.
  console.error(`images:build FAILED: ${(error as Error).message}`);
  process.exit(1);
}
const mb = (b: number) => `${Math.round(b / 1e6)} MB`;
for (const b of built) {
  console.log(
    `${b.ref}  ${b.manifestDigest}  ${mb(b.bytes)} (${mb(b.compressedBytes)} compressed)  ` +
      `${b.rebuiltLayers}/${b.layers} layers built  ${b.seconds} s  ${path.relative(repoRoot, b.archive)}`,
  );
}
console.log(`images: ${Math.round((Date.now() - started) / 1000)} s`);
