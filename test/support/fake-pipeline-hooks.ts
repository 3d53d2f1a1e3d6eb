/**
 * A module hook for the real runtime process: started with
 * `NODE_OPTIONS=--import=<this file>` (runtime-e2e.ts: fakePipelineEnv), the engine's worker
 * thread loads fake-pipeline-worker.ts instead of src/runtime/worker/worker.ts. Everything else
 * is the real thing (main.ts, the server, the engine client, the worker protocol), driven into
 * faults the real pipeline cannot show on demand: a worker that dies, out-of-memory failures.
 * Worker threads run the process's --import too, so the hook is in place in the thread that
 * resolves the worker's entry.
 */
import { registerHooks } from 'node:module';

const real = new URL('../../src/runtime/worker/worker.ts', import.meta.url).href;
const fake = new URL('./fake-pipeline-worker.ts', import.meta.url).href;

registerHooks({
  resolve(specifier, context, next) {
    const resolved = next(specifier, context);
    return resolved.url === real ? { ...resolved, url: fake } : resolved;
  },
});
