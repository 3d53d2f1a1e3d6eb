/** Invalid rows for the object name, the model, the runtime and its resources. */
import { maxObjectNameLength } from '../../../src/operator/api/v1alpha1/object-name.ts';
import {
  baseSpec,
  longestObjectName,
  withResources,
  withRuntime,
  withSubPath,
  type InvalidCase,
} from './builders.ts';

const nameMessage = 'must be a DNS-1035 label';

export const invalidWorkload: InvalidCase[] = [
  { name: 'steps 0', spec: withRuntime({ steps: 0 }), field: 'spec.runtime.steps' },
  { name: 'steps 51', spec: withRuntime({ steps: 51 }), field: 'spec.runtime.steps' },
  { name: 'steps not an integer', spec: withRuntime({ steps: 4.5 }), field: 'spec.runtime.steps' },
  {
    name: 'resolution not a multiple of 16',
    spec: withRuntime({ maxResolution: '1000x1000' }),
    field: 'spec.runtime.maxResolution',
  },
  {
    name: 'resolution over the limit',
    spec: withRuntime({ maxResolution: '4096x4096' }),
    field: 'spec.runtime.maxResolution',
  },
  {
    // Spelled right (contract/size.ts takes 1-5 digits), so the range rule is the one to say it.
    name: 'resolution under the floor',
    spec: withRuntime({ maxResolution: '64x64' }),
    field: 'spec.runtime.maxResolution',
    message: 'each side must be 256..2048',
  },
  {
    name: 'resolution malformed',
    spec: withRuntime({ maxResolution: 'big' }),
    field: 'spec.runtime.maxResolution',
  },
  {
    name: 'unknown attention backend',
    spec: withRuntime({ attention: 'sdpa' }),
    field: 'spec.runtime.attention',
  },
  {
    name: 'unknown offload mode',
    spec: withRuntime({ offload: 'disk' }),
    field: 'spec.runtime.offload',
  },
  {
    name: 'unknown execution provider',
    spec: withRuntime({ executionProvider: 'rocm' }),
    field: 'spec.runtime.executionProvider',
  },
  { name: 'empty image', spec: withRuntime({ image: '' }), field: 'spec.runtime.image' },
  {
    name: 'negative replicas',
    spec: () => ({ ...baseSpec(), replicas: -1 }),
    field: 'spec.replicas',
  },
  { name: 'missing model', spec: () => ({ runtime: baseSpec().runtime }), field: 'spec.model' },
  {
    name: 'claim name not a DNS name',
    spec: () => ({ ...baseSpec(), model: { source: { pvc: { claimName: 'Bad_Name' } } } }),
    field: 'spec.model.source.pvc.claimName',
  },
  {
    name: 'object name with a dot (Services cannot hold dots)',
    spec: baseSpec,
    objectName: 'my.model',
    field: 'metadata.name',
    message: nameMessage,
  },
  {
    name: 'object name one character too long for the children',
    spec: baseSpec,
    objectName: `${longestObjectName}z`,
    field: 'metadata.name',
    message: `at most ${maxObjectNameLength} characters`,
  },
  {
    name: 'object name starting with a digit (DNS-1035)',
    spec: baseSpec,
    objectName: '9model',
    field: 'metadata.name',
    message: nameMessage,
  },
  {
    name: 'memory limit below its request',
    spec: withResources({ requests: { memory: '2Gi' }, limits: { memory: '1Gi' } }),
    field: 'spec.runtime.resources',
    message: 'limits.memory must be at least requests.memory',
  },
  {
    name: 'memory limit below the default request (24Gi)',
    spec: withResources({ limits: { memory: '16Gi' } }),
    field: 'spec.runtime.resources',
    message: 'limits.memory must be at least requests.memory',
  },
  {
    name: 'cpu limit below the default request (4)',
    spec: withResources({ limits: { cpu: '2' } }),
    field: 'spec.runtime.resources',
    message: 'limits.cpu must be at least requests.cpu',
  },
  {
    name: 'extended resource limit below its request',
    spec: withResources({
      requests: { 'example.com/dongle': 2 },
      limits: { 'example.com/dongle': 1 },
    }),
    field: 'spec.runtime.resources',
    message: 'each limit must be at least its request',
  },
  {
    name: 'a GPU limit in spec.runtime.resources (spec.gpu.count sets it)',
    spec: withResources({ limits: { 'nvidia.com/gpu': 5 } }),
    field: 'spec.runtime.resources.limits',
    message: 'the pods get spec.gpu.count GPUs; set spec.gpu.count instead',
  },
  {
    name: 'a GPU request in spec.runtime.resources',
    spec: withResources({ requests: { 'nvidia.com/gpu': 2 } }),
    field: 'spec.runtime.resources.requests',
    message: 'set spec.gpu.count instead',
  },
  {
    name: 'a limit of the GPU resource spec.gpu.resource names',
    spec: () => ({
      ...withResources({ limits: { 'amd.com/gpu': 2 } })(),
      gpu: { resource: 'amd.com/gpu' },
    }),
    field: 'spec.runtime.resources.limits',
    message: 'must not hold the GPU resource (spec.gpu.resource',
  },
  {
    name: 'resource value not a quantity',
    spec: withResources({ limits: { memory: '5xx' } }),
    field: 'spec.runtime.resources.limits',
    message: 'must be a non-negative quantity',
  },
  {
    name: 'quantity with a 10-digit exponent (kube-apiserver would compute 10^9999999999)',
    spec: withResources({ requests: { memory: '1Gi' }, limits: { memory: '1e9999999999' } }),
    field: 'spec.runtime.resources.limits',
    message: 'exponents of at most 2 digits',
  },
  {
    name: 'negative resource request',
    spec: withResources({ requests: { cpu: '-1' } }),
    field: 'spec.runtime.resources.requests',
    message: 'must be a non-negative quantity',
  },
  {
    name: 'resource name not a qualified name',
    spec: withResources({ requests: { 'bad name!': '1' } }),
    field: 'spec.runtime.resources.requests',
    message: 'prefixed qualified names',
  },
  {
    name: 'unprefixed resource name that is not a standard one',
    spec: withResources({ requests: { gpu: '1' } }),
    field: 'spec.runtime.resources.requests',
    message: 'resource names must be cpu, memory, ephemeral-storage, hugepages-<size>',
  },
  {
    name: 'subPath climbing out of the claim',
    spec: withSubPath('../../etc'),
    field: 'spec.model.source.pvc.subPath',
    message: "without '..' elements",
  },
  {
    name: 'subPath with a .. element in the middle',
    spec: withSubPath('models/../../etc'),
    field: 'spec.model.source.pvc.subPath',
    message: "without '..' elements",
  },
  {
    name: 'absolute subPath',
    spec: withSubPath('/etc'),
    field: 'spec.model.source.pvc.subPath',
    message: 'must be a relative path',
  },
  {
    name: 'duplicate imagePullSecrets',
    spec: () => ({ ...baseSpec(), imagePullSecrets: [{ name: 'regcred' }, { name: 'regcred' }] }),
    field: 'spec.imagePullSecrets[1]',
    message: 'Duplicate value',
  },
  {
    name: 'image with whitespace',
    spec: withRuntime({ image: 'registry.example/zimage runtime:0.1.0' }),
    field: 'spec.runtime.image',
    message: 'must be an image reference',
  },
  {
    name: 'image with an upper-case path',
    spec: withRuntime({ image: 'registry.example/ZImage:0.1.0' }),
    field: 'spec.runtime.image',
    message: 'must be an image reference',
  },
  {
    name: 'image with two tags',
    spec: withRuntime({ image: 'registry.example/zimage:0.1:0.2' }),
    field: 'spec.runtime.image',
    message: 'must be an image reference',
  },
  {
    name: 'image with a short digest',
    spec: withRuntime({ image: 'registry.example/zimage@sha256:abc' }),
    field: 'spec.runtime.image',
    message: 'must be an image reference',
  },
  {
    name: 'resolution with leading zeros',
    spec: withRuntime({ maxResolution: '0512x0512' }),
    field: 'spec.runtime.maxResolution',
    message: 'without spaces or leading zeros',
  },
  {
    name: 'resolution with a leading space',
    spec: withRuntime({ maxResolution: ' 512x512' }),
    field: 'spec.runtime.maxResolution',
    message: 'without spaces or leading zeros',
  },
  {
    name: 'unknown field',
    spec: withRuntime({ stepz: 4 }),
    field: 'spec.runtime',
    apiField: 'spec.runtime.stepz',
  },
];
