/**
 * Worker-thread entry: serves the real ONNX Runtime pipeline. The engine client
 * (engine-client.ts) starts it; it is never run directly.
 */
import { parentPort } from 'node:worker_threads';
import { createPipeline } from '../pipeline/index.ts';
import { servePipeline } from './serve.ts';

if (!parentPort) throw new Error('worker.ts runs only as a worker thread (see engine-client.ts)');
servePipeline(parentPort, createPipeline);
