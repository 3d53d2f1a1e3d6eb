/**
 * Names shared by the operator, the runtime and the local cluster (dev/). One spelling each:
 * everything that must agree imports it from here.
 */

/** API group of the ZImageDeployment resource. */
export const apiGroup = 'zimage.dev';

/**
 * Pod label naming the ZImageDeployment a pod belongs to (the value is its name). Metrics carry
 * it too (metrics.ts, seriesLabels.deployment), so alerts and signals select one instance exactly.
 */
export const instanceLabel = 'app.kubernetes.io/instance';

/**
 * Pods carrying this annotation are not marked Running/Ready by kwok on the local cluster:
 * an external pod runner starts a real runtime process at the pod's loopback IP and owns the
 * pod's status (and deletion). Production clusters ignore it.
 */
export const podRunnerAnnotation = `${apiGroup}/pod-runner`;

/** Extended resource name of NVIDIA GPUs (device plugin / GPU Operator). */
export const nvidiaGpuResource = 'nvidia.com/gpu';

/**
 * Set only by the local fleet's pod runner (dev/fleet), never by the operator: the folder that
 * stands for the pod's root filesystem. The runner has no mount namespace, so it places each
 * volume at `<root><mountPath>` (kubelet would mount it at `<mountPath>`); in-cluster config
 * then reads the projected ServiceAccount token under it. Unset in real pods.
 */
export const podRootEnv = 'ZIMAGE_POD_ROOT';
