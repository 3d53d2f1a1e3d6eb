/**
 * Child process of kernel-probe.ts: `node kernel-probe-main.ts '<ProbeRequest json>'`. Runs the
 * MultiHeadAttention probe graph on the CUDA EP (CPU fallback disabled) for each chain length
 * and token count, and marks each case on stdout and stderr (`ZPROBE begin <chain>x<tokens>`,
 * `ZPROBE end <key> <median ms>`) with synchronous writes, so ORT's own report lines, written
 * during run(), fall between the markers of their case whichever stream they use.
 */
import { writeSync } from 'node:fs';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { attentionProbeModel, probeMarker, type ProbeRequest } from './kernel-probe.ts';
import { sessionOptions } from './sessions.ts';

const mark = (line: string) => {
  writeSync(1, `${probeMarker}${line}\n`);
  writeSync(2, `${probeMarker}${line}\n`);
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
}

const request = JSON.parse(process.argv[2] ?? '{}') as ProbeRequest;
const width = request.heads * request.headDim;
for (const chain of request.chains ?? [1]) {
  const session = await InferenceSession.create(
    attentionProbeModel(request, chain),
    sessionOptions(request.ep ?? 'cuda', { deviceId: request.deviceId, intraOpThreads: 1 }),
  );
  for (const tokens of request.tokens) {
    const data = Float32Array.from({ length: tokens * width }, () => Math.random() * 2 - 1);
    const x = new Tensor('float32', data, [1, tokens, width]);
    const key = `${chain}x${tokens}`;
    mark(`begin ${key}`);
    await session.run({ q: x, k: x, v: x });
    const times: number[] = [];
    for (let i = 0; i < (request.repeats ?? 0); i++) {
      const t0 = performance.now();
      await session.run({ q: x, k: x, v: x });
      times.push(performance.now() - t0);
    }
    mark(`end ${key} ${times.length ? median(times).toFixed(4) : 'NaN'}`);
  }
  await session.release();
}
