/**
 * A stand-in runtime pod for the router benchmark (bench/router.ts): answers
 * POST /v1/images/generations at once with a fixed body of a real answer's size and the timing
 * headers a runtime sends (src/contract/runtime.ts runtimeHeaders), so that what a client waits
 * for through the router, beyond the direct answer, is the router's own cost.
 *
 * `node bench/stub-pod.ts <px> <port>[,<port>...]`: one process serves every port (one stub pod
 * each). Body: one image of `px`x`px` whose base64 PNG is as long as a Z-Image PNG of that size
 * (~1.3 MB at 1024 px: 1.0 MB of PNG, a third more as base64; scaled by the pixels, so 0.33 MB
 * at 512 px and 5 KB at 64 px). The bytes are random: the router never decodes them.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { runtimeHeaders, runtimePaths } from '../src/contract/runtime.ts';

/** PNG bytes of a 1024x1024 image; other sizes scale with the pixels. */
const pngBytesAt1024 = 1_000_000;

/** The answer the runtime gives for one image of px x px (src/runtime/http/generate.ts). */
export function stubAnswer(px: number): Buffer {
  const png = randomBytes(Math.round((pngBytesAt1024 * px * px) / (1024 * 1024)));
  return Buffer.from(
    JSON.stringify({
      created: Math.floor(Date.now() / 1000),
      data: [{ b64_json: png.toString('base64'), seed: 1 }],
      seed: 1,
      steps: 9,
      size: `${px}x${px}`,
      timings: {
        queue_ms: 0,
        generation_ms: 1230,
        images: [
          { encode_ms: 30, denoise_ms: 1100, decode_ms: 100, total_ms: 1230, session_create_ms: 0 },
        ],
      },
    }),
  );
}

/** What the runtime says of an image it made: the card model's H100 at 1024 px, 9 steps. */
const headers = {
  'content-type': 'application/json; charset=utf-8',
  [runtimeHeaders.imageMs]: '1230.0',
  [runtimeHeaders.denoiseMs]: '1100.0',
  [runtimeHeaders.steps]: '9',
  [runtimeHeaders.backlogMs]: '0',
};

function serve(port: number, body: Buffer): Promise<void> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST' && req.url === runtimePaths.generate) {
        res.writeHead(200, { ...headers, 'content-length': body.length });
        res.end(body);
      } else {
        res.writeHead(req.url === runtimePaths.readyz ? 200 : 404, {
          'content-type': 'application/json',
        });
        res.end('{"status":"ok"}');
      }
    });
  });
  // As the runtime's server (72 s): the router's pool closes idle connections first (60 s).
  server.keepAliveTimeout = 72_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

if (import.meta.main) {
  const [px = '1024', ports = ''] = process.argv.slice(2);
  const body = stubAnswer(Number(px));
  await Promise.all(ports.split(',').map((p) => serve(Number(p), body)));
  console.log(`stub pods on ${ports}: ${body.length} bytes per answer`);
}
