/**
 * The three images: names, layers (bottom to top, after the Debian base) and run settings.
 * Kept equivalent to deploy/images/*.Dockerfile: same files under /app, user 65532, entrypoint.
 */
import { mountPaths, runtimePort, runtimeUid } from '../../src/contract/runtime.ts';

export const imageNames = ['operator', 'runtime-cpu', 'runtime-cuda13'] as const;
export type ImageName = (typeof imageNames)[number];

export type LayerId = 'node' | 'cuda-libs' | 'deps' | 'cuda-ep' | 'code-operator' | 'code-runtime';

export interface ImageConfig {
  repository: string;
  tag: (version: string) => string;
  description: string;
  /** Slowest-changing first: a code change rebuilds only the last layer. */
  layers: readonly LayerId[];
  entrypoint: readonly string[];
  env: Record<string, string>;
  ports: readonly number[];
}

const node = '/usr/local/bin/node';
const runtimeEnv = {
  NODE_ENV: 'production',
  ZIMAGE_MODEL_DIR: mountPaths.model,
  ZIMAGE_PORT: String(runtimePort),
};

// The base's /etc/passwd names 65532 "nonroot"; the contract's runtimeUid is the same number.
if (runtimeUid !== 65532) throw new Error('deploy/images/base/rootfs-hook.sh writes uid 65532');

export const imageConfigs: Record<ImageName, ImageConfig> = {
  operator: {
    repository: 'zimage-operator',
    tag: (v) => v,
    description: 'zimage-operator: Kubernetes operator and autoscaler for Z-Image-Turbo',
    layers: ['node', 'deps', 'code-operator'],
    entrypoint: [node, 'src/operator/main.ts'],
    env: { NODE_ENV: 'production' },
    ports: [8081],
  },
  'runtime-cpu': {
    repository: 'zimage-runtime',
    tag: (v) => `${v}-cpu`,
    description: 'Z-Image-Turbo runtime, ONNX Runtime CPU EP',
    layers: ['node', 'deps', 'code-runtime'],
    entrypoint: [node, 'src/runtime/main.ts'],
    env: { ...runtimeEnv, ZIMAGE_EXECUTION_PROVIDER: 'cpu' },
    ports: [runtimePort],
  },
  'runtime-cuda13': {
    repository: 'zimage-runtime',
    tag: (v) => `${v}-cuda13`,
    description: 'Z-Image-Turbo runtime, ONNX Runtime CUDA EP (CUDA 13, cuDNN 9; driver 580+)',
    layers: ['node', 'cuda-libs', 'deps', 'cuda-ep', 'code-runtime'],
    entrypoint: [node, 'src/runtime/main.ts'],
    env: {
      ...runtimeEnv,
      ZIMAGE_EXECUTION_PROVIDER: 'cuda',
      // The wheels' libraries; the GPU host's libcuda.so.1 comes through ld.so.cache (the
      // NVIDIA container toolkit mounts it into /usr/lib/x86_64-linux-gnu and runs ldconfig).
      LD_LIBRARY_PATH: '/usr/local/cuda/lib64',
    },
    ports: [runtimePort],
  },
};
