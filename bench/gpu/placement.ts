/**
 * Which nodes ORT places on the CPU EP when a GPU EP is asked for (diagnostics for "fallback to
 * CPU EP has been explicitly disabled"). Creates a session per ONNX file with CPU fallback
 * allowed and verbose logging; ORT prints the placement (grep "placed on").
 * Usage: node bench/gpu/placement.ts <ep> <file.onnx>...
 */
import { InferenceSession } from 'onnxruntime-node';

const [ep = 'webgpu', ...files] = process.argv.slice(2);
for (const file of files) {
  console.log(`=== ${file} on ${ep}`);
  try {
    const session = await InferenceSession.create(file, {
      executionProviders: [ep],
      logSeverityLevel: 0,
      logVerbosityLevel: 0,
      extra: { session: { disable_cpu_ep_fallback: '0' } },
    });
    await session.release();
  } catch (err) {
    console.log(`=== failed: ${(err as Error).message}`);
  }
}
