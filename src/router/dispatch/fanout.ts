/**
 * A request for n images becomes n single-image jobs with seeds seed, seed+1, ... (mod 2^32),
 * the runtime's own rule (src/runtime/http/generate.ts), so image i of a fanned-out request is
 * byte for byte the image a pod makes for the same request sent to it directly.
 */

/** Seeds are unsigned 32-bit, as in the runtime. */
export const seedModulus = 2 ** 32;

export interface ImageSpec {
  prompt: string;
  width: number;
  height: number;
  /** Undefined: the pod's live steps. */
  steps: number | undefined;
  seed: number;
}

export interface FanOutRequest {
  prompt: string;
  width: number;
  height: number;
  n: number;
  seed: number;
  steps: number | undefined;
}

export function fanOut(request: FanOutRequest): ImageSpec[] {
  const { prompt, width, height, steps } = request;
  return Array.from({ length: request.n }, (_, i) => ({
    prompt,
    width,
    height,
    steps,
    seed: (request.seed + i) % seedModulus,
  }));
}

/** The body a pod gets for one image: the runtime's own request shape, n = 1. */
export function podBody(image: ImageSpec): string {
  return JSON.stringify({
    prompt: image.prompt,
    size: `${image.width}x${image.height}`,
    n: 1,
    seed: image.seed,
    ...(image.steps === undefined ? {} : { steps: image.steps }),
  });
}
