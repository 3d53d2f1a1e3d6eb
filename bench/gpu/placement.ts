/**
 * Which nodes ORT places on the CPU EP when a GPU EP is asked for (diagnostics for "fallback to
 * CPU EP has been explicitly disabled"). Creates a session per ONNX file and variant (graph
 * optimization level, WebGPU preferred layout) with CPU fallback allowed and verbose logging;
 * prints how many nodes land on the CPU and which.
 * Usage: node bench/gpu/placement.ts <file.onnx>...
 */
import { InferenceSession } from 'onnxruntime-node';

type Level = 'disabled' | 'basic' | 'extended' | 'all';
const variants: { level: Level; layout?: 'NCHW' | 'NHWC' }[] = [
  { level: 'all' },
  { level: 'all', layout: 'NCHW' },
  { level: 'all', layout: 'NHWC' },
  { level: 'extended' },
  { level: 'basic' },
];
for (const file of process.argv.slice(2)) {
  for (const v of variants) {
    console.log(`=== ${file} level=${v.level} layout=${v.layout ?? 'default'}`);
    try {
      const ep = v.layout ? { name: 'webgpu' as const, preferredLayout: v.layout } : 'webgpu';
      const session = await InferenceSession.create(file, {
        executionProviders: [ep],
        graphOptimizationLevel: v.level,
        logSeverityLevel: 0,
        logVerbosityLevel: 0,
        extra: { session: { disable_cpu_ep_fallback: '0' } },
      });
      await session.release();
    } catch (err) {
      console.log(`=== failed: ${(err as Error).message}`);
    }
  }
}
