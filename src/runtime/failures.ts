/**
 * Which native errors are which, from their message text (ORT reports CUDA and allocation
 * failures only as text). Shared by the pipeline (sessions.ts) and the worker protocol, so an
 * error classified on either side of the thread boundary gets the same code.
 */

// ORT prints a library's status string, not its enum name: a cuBLAS handle that cannot get its
// workspace reads "CUBLAS failure 3: the resource allocation failed" (CUBLAS_STATUS_ALLOC_FAILED),
// and cuDNN 9 under memory pressure failed cudnnCreate with CUDNN_STATUS_INTERNAL_ERROR (both seen
// on an H200 with a ballast holding the rest of the card, docs/performance.md). Creating a library
// handle fails only for want of resources, so such a failure counts as out of memory: the engine
// recreates its sessions and, when that does not help, exits, instead of failing every request
// with 500 while it stays ready.
const oomPattern =
  /Failed to allocate memory|BFCArena|bad_alloc|out of memory|Cannot allocate memory|ENOMEM|OOM|ALLOC_FAILED|ALLOCATION_FAILED|resource allocation failed|CUBLAS failure 3\b|expr=cu(?:blas|blasLt|dnn)Create\(|Array buffer allocation failed/i;

/**
 * CUDA errors after which the context is gone ("sticky" errors: every later CUDA call in the
 * process fails). Seen on an H200 with ORT 1.30's unfused attention at 4608 tokens in bf16:
 * "CUBLAS failure 13" (CUBLAS_STATUS_EXECUTION_FAILED), then "CUDA failure 700: an illegal
 * memory access was encountered" on every run after (measured on an H200: docs/performance.md).
 */
const gpuFailurePattern =
  /illegal memory access|illegal address|CUBLAS failure 1[34]|EXECUTION_FAILED|unspecified launch failure|device-side assert|misaligned address|CUDA failure (?:700|701|710|714|715|716|719|999)|cudaErrorIllegal|launch timed out|uncorrectable ECC/i;

/** ORT reports allocation failures only as message text. */
export function isOutOfMemory(err: unknown): boolean {
  return err instanceof Error && oomPattern.test(err.message);
}

/** A CUDA error that poisons the context (checked before OOM: such a message may say both). */
export function isGpuFailure(err: unknown): boolean {
  return err instanceof Error && gpuFailurePattern.test(err.message);
}
