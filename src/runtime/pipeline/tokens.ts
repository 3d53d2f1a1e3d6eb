/**
 * Host-side tensor layout for the exported transformer (tools/export/export_zimage.py,
 * transformer_inputs): patchify the latents into 2x2 tokens, pad image and caption sequences to
 * a multiple of 32 (the padded rows are replaced by learned pad tokens inside the graph, so
 * their values do not matter; we repeat the last row as diffusers does), and build RoPE cos/sin
 * tables for each token's 3-axis position:
 *   caption token j (pads included) -> (1 + j, 0, 0)
 *   image token (h, w)              -> (Nc + 1, h, w)   with Nc the padded caption length
 *   image pad tokens                -> (0, 0, 0)
 * E.g. a 1024x1024 image: 128x128 latents -> 64x64 = 4096 tokens, no image padding.
 */
export interface TransformerShape {
  axesDims: readonly number[];
  ropeTheta: number;
  channels: number;
  seqMultiple: number;
}

export interface TransformerFeeds {
  xTokens: Float32Array;
  xPadMask: Uint8Array;
  capFeats: Float32Array;
  capPadMask: Uint8Array;
  xCos: Float32Array;
  xSin: Float32Array;
  capCos: Float32Array;
  capSin: Float32Array;
  nx: number;
  nc: number;
  /** Real image tokens (nx minus padding). */
  nImg: number;
}

const P = 2;

export function padTo(n: number, multiple: number): number {
  return n + ((multiple - (n % multiple)) % multiple);
}

/** cos/sin [S, sum(axes)/2] for positions [S][3] (fp64 angles, then fp32, as diffusers). */
export function ropeTables(
  axesDims: readonly number[],
  theta: number,
  positions: readonly (readonly [number, number, number])[],
): { cos: Float32Array; sin: Float32Array } {
  const half = axesDims.reduce((a, d) => a + d / 2, 0);
  const cos = new Float32Array(positions.length * half);
  const sin = new Float32Array(positions.length * half);
  const freqs = axesDims.map((d) =>
    Array.from({ length: d / 2 }, (_, k) => 1 / Math.pow(theta, (2 * k) / d)),
  );
  positions.forEach((pos, s) => {
    let col = 0;
    freqs.forEach((axis, a) => {
      for (const f of axis) {
        const angle = Math.fround((pos[a] ?? 0) * f);
        cos[s * half + col] = Math.cos(angle);
        sin[s * half + col] = Math.sin(angle);
        col++;
      }
    });
  });
  return { cos, sin };
}

/** latents [C, H, W] -> tokens [(H/2)(W/2), 2*2*C], row layout (ph, pw, c). */
export function patchify(latents: Float32Array, c: number, h: number, w: number): Float32Array {
  const ht = h / P;
  const wt = w / P;
  const dim = P * P * c;
  const out = new Float32Array(ht * wt * dim);
  for (let y = 0; y < ht; y++)
    for (let x = 0; x < wt; x++)
      for (let ph = 0; ph < P; ph++)
        for (let pw = 0; pw < P; pw++)
          for (let ch = 0; ch < c; ch++)
            out[(y * wt + x) * dim + (ph * P + pw) * c + ch] =
              latents[ch * h * w + (y * P + ph) * w + (x * P + pw)] ?? 0;
  return out;
}

/** The inverse of patchify for the first (H/2)(W/2) rows of the model output. */
export function unpatchify(tokens: Float32Array, c: number, h: number, w: number): Float32Array {
  const ht = h / P;
  const wt = w / P;
  const dim = P * P * c;
  const out = new Float32Array(c * h * w);
  for (let y = 0; y < ht; y++)
    for (let x = 0; x < wt; x++)
      for (let ph = 0; ph < P; ph++)
        for (let pw = 0; pw < P; pw++)
          for (let ch = 0; ch < c; ch++)
            out[ch * h * w + (y * P + ph) * w + (x * P + pw)] =
              tokens[(y * wt + x) * dim + (ph * P + pw) * c + ch] ?? 0;
  return out;
}

function padRows(rows: Float32Array, n: number, padded: number, dim: number): Float32Array {
  const out = new Float32Array(padded * dim);
  out.set(rows.subarray(0, n * dim));
  const last = rows.subarray((n - 1) * dim, n * dim);
  for (let r = n; r < padded; r++) out.set(last, r * dim);
  return out;
}

/** The caption half of the feeds: fixed for a whole generation, so built once per request. */
export function captionFeeds(
  shape: TransformerShape,
  capFeats: Float32Array,
  capLen: number,
  capDim: number,
) {
  const nc = padTo(capLen, shape.seqMultiple);
  const positions = Array.from({ length: nc }, (_, j) => [1 + j, 0, 0] as const);
  const { cos, sin } = ropeTables(shape.axesDims, shape.ropeTheta, positions);
  const mask = new Uint8Array(nc);
  mask.fill(1, capLen);
  return { nc, capFeats: padRows(capFeats, capLen, nc, capDim), capPadMask: mask, cos, sin };
}

/** The image half: positions depend only on the size and the padded caption length. */
export function imageFeedsLayout(shape: TransformerShape, h: number, w: number, nc: number) {
  const ht = h / P;
  const wt = w / P;
  const nImg = ht * wt;
  const nx = padTo(nImg, shape.seqMultiple);
  const positions: (readonly [number, number, number])[] = [];
  for (let y = 0; y < ht; y++) for (let x = 0; x < wt; x++) positions.push([nc + 1, y, x]);
  for (let i = nImg; i < nx; i++) positions.push([0, 0, 0]);
  const { cos, sin } = ropeTables(shape.axesDims, shape.ropeTheta, positions);
  const mask = new Uint8Array(nx);
  mask.fill(1, nImg);
  return { nx, nImg, xPadMask: mask, cos, sin };
}

export function imageTokens(
  latents: Float32Array,
  c: number,
  h: number,
  w: number,
  nx: number,
): Float32Array {
  const tokens = patchify(latents, c, h, w);
  return padRows(tokens, (h / P) * (w / P), nx, P * P * c);
}
