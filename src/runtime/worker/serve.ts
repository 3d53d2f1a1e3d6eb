/**
 * The worker side of the protocol (protocol.ts), independent of which pipeline it serves:
 * worker.ts passes the real createPipeline, tests pass a fake one.
 */
import type { MessagePort } from 'node:worker_threads';
import type { GenerateResult } from '../engine.ts';
import type { Pipeline, PipelineOptions } from '../pipeline/types.ts';
import { cancelRequested, toWireError, type WorkerReply, type WorkerRequest } from './protocol.ts';

export type CreatePipeline = (options: PipelineOptions) => Promise<Pipeline>;

export function servePipeline(port: MessagePort, createPipeline: CreatePipeline): void {
  let pipeline: Pipeline | undefined;
  // Strictly one request at a time, in arrival order: ORT sessions are not re-entrant, and a
  // setOffload must not release sessions under a running generation.
  let chain = Promise.resolve();

  const post = (reply: WorkerReply, transfer: ArrayBuffer[] = []) =>
    port.postMessage(reply, transfer);
  const info = () => {
    try {
      return pipeline?.info();
    } catch {
      return undefined;
    }
  };
  const ready = (): Pipeline => {
    if (!pipeline) throw new Error('pipeline not initialised (init must come first)');
    return pipeline;
  };

  async function handle(request: WorkerRequest): Promise<void> {
    const { id } = request;
    switch (request.type) {
      case 'init':
        pipeline = await createPipeline(request.options);
        return post({ type: 'done', id, info: info() });
      case 'generate': {
        const cancel = new Int32Array(request.cancel);
        const result = await ready().generate(request.job, {
          isCancelled: () => Atomics.load(cancel, 0) === cancelRequested,
          onStep: (index, total, ms) => post({ type: 'step', id, index, total, ms }),
        });
        const png = transferable(result.png);
        return post({ type: 'done', id, info: info(), result: { ...result, png } }, [png.buffer]);
      }
      case 'setOffload':
        await ready().setOffload(request.mode);
        return post({ type: 'done', id, info: info() });
      case 'recreate':
        await ready().recreate();
        return post({ type: 'done', id, info: info() });
      case 'release':
        await pipeline?.release();
        pipeline = undefined;
        return post({ type: 'done', id, info: undefined });
    }
  }

  port.on('message', (request: WorkerRequest) => {
    chain = chain
      .then(() => handle(request))
      .catch((err: unknown) =>
        post({ type: 'failed', id: request.id, error: toWireError(err), info: info() }),
      );
  });
}

/**
 * A Uint8Array that owns its whole ArrayBuffer, so transferring it moves only the PNG. A
 * Buffer from Node's pool is a window on a shared 8 KiB slab: transferring that slab would
 * detach memory other Buffers still use, so such views are copied first.
 */
function transferable(png: GenerateResult['png']): Uint8Array<ArrayBuffer> {
  const { buffer } = png;
  if (
    buffer instanceof ArrayBuffer &&
    png.byteOffset === 0 &&
    png.byteLength === buffer.byteLength
  ) {
    return new Uint8Array(buffer);
  }
  return new Uint8Array(png);
}
