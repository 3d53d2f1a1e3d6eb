/**
 * One table of specs, run through both the zod schema (unit) and the real API server
 * (integration): both must give the same verdict, and both messages must name the field.
 * A row may carry an object name (the CRD's root rule checks metadata.name).
 */
import { defaultRules } from '../../src/operator/api/v1alpha1/default-rules.ts';
import {
  baseSpec,
  longestObjectName,
  rule,
  withAutoscaling,
  withGpu,
  withResources,
  withRuntime,
  withSubPath,
  type InvalidCase,
  type ValidCase,
} from './spec-table/builders.ts';
import { invalidAuthAndNetwork, withAuth, withPeers } from './spec-table/invalid-auth-network.ts';
import { invalidPlacementAndAutoscaling } from './spec-table/invalid-placement-autoscaling.ts';
import { invalidRouter, withRouter } from './spec-table/invalid-router.ts';
import { invalidWorkload } from './spec-table/invalid-workload.ts';

export { baseSpec, longestObjectName, type InvalidCase, type ValidCase };

export const invalidSpecs: InvalidCase[] = [
  ...invalidWorkload,
  ...invalidPlacementAndAutoscaling,
  ...invalidRouter,
  ...invalidAuthAndNetwork,
];

/** Every list and map at its bound and every string at its longest: the CEL cost ceiling. */
function largestSpec() {
  const n = (i: number) => i.toString().padStart(2, '0');
  const key = (i: number) => `${'p'.repeat(250)}${n(i)}/${'k'.repeat(61)}${n(i)}`;
  const quantities = Object.fromEntries(
    Array.from({ length: 16 }, (_, i) => [key(i), `${'9'.repeat(63)}m`]),
  );
  return {
    ...baseSpec(),
    runtime: {
      image: `registry.example:5000/${'z'.repeat(400)}:${'t'.repeat(80)}`,
      resources: { requests: quantities, limits: quantities },
    },
    gpu: {
      nodeSelector: Object.fromEntries(
        Array.from({ length: 32 }, (_, i) => [key(i), `${'v'.repeat(61)}${n(i)}`]),
      ),
      tolerations: Array.from({ length: 20 }, (_, i) => ({ key: key(i), value: 'v'.repeat(63) })),
    },
    router: { resources: { requests: quantities, limits: quantities } },
    auth: {
      clientTokenKey: 'k'.repeat(253),
      podTokenKey: 'p'.repeat(253),
      rotationGraceSeconds: 3_600,
    },
    networkPolicy: {
      enabled: true,
      allowFrom: Array.from({ length: 16 }, () => {
        const selector = {
          matchLabels: Object.fromEntries(
            Array.from({ length: 16 }, (_, i) => [key(i), `${'v'.repeat(61)}${n(i)}`]),
          ),
          matchExpressions: Array.from({ length: 16 }, (_, i) => ({
            key: key(i),
            operator: 'In',
            values: Array.from({ length: 16 }, (_, j) => `${'v'.repeat(61)}${n(j)}`),
          })),
        };
        return { namespaceSelector: selector, podSelector: selector };
      }),
    },
    imagePullSecrets: Array.from({ length: 10 }, (_, i) => ({ name: `${'s'.repeat(251)}${n(i)}` })),
    autoscaling: {
      rules: Array.from({ length: 16 }, (_, i) =>
        rule({ name: `${'r'.repeat(61)}${n(i)}`, clearThreshold: 80, for: '59m59s999ms' }),
      ),
    },
  };
}

export const validSpecs: ValidCase[] = [
  { name: 'the largest spec (the CEL cost ceiling)', spec: largestSpec },
  { name: 'minimal', spec: baseSpec },
  { name: 'steps 1 and 50 bounds', spec: withRuntime({ steps: 50, maxResolution: '2048x256' }) },
  { name: 'zero replicas', spec: () => ({ ...baseSpec(), replicas: 0 }) },
  {
    // Off: spec.replicas rules, and 0 means stopped; no router is needed for that.
    name: 'zero replicas without the router (stopped, autoscaling Off)',
    spec: () => ({ ...baseSpec(), replicas: 0, router: { enabled: false } }),
  },
  {
    name: 'scale from zero: minReplicas 0 with the router on by default',
    spec: withAutoscaling({ mode: 'Enforce', minReplicas: 0, maxReplicas: 2 }),
  },
  {
    name: 'minReplicas 0 at zero replicas, autoscaling Off, the router named on',
    spec: () => ({
      ...baseSpec(),
      replicas: 0,
      autoscaling: { mode: 'Off', minReplicas: 0 },
      router: { enabled: true },
    }),
  },
  { name: 'the router on, with its defaults', spec: withRouter({ enabled: true }) },
  {
    name: 'the router at its bounds, with more memory',
    spec: withRouter({
      enabled: true,
      replicas: 10,
      maxQueue: 0,
      podSlots: 64,
      resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '1Gi' } },
    }),
  },
  { name: 'the longest object name', spec: baseSpec, objectName: longestObjectName },
  { name: 'auth with its defaults (the Secret <name>-auth, key token)', spec: withAuth({}) },
  {
    name: 'auth with a pod token, a grace of 0, and policies admitting an Ingress controller',
    spec: () => ({
      ...withAuth({
        clientTokenKey: 'client.token',
        podTokenKey: 'pod_token',
        rotationGraceSeconds: 0,
      })(),
      networkPolicy: {
        enabled: true,
        allowFrom: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } },
          },
          {
            namespaceSelector: {},
            podSelector: {
              matchExpressions: [{ key: 'team', operator: 'In', values: ['a', 'b'] }],
            },
          },
          { podSelector: { matchExpressions: [{ key: 'blocked', operator: 'DoesNotExist' }] } },
        ],
      },
    }),
  },
  {
    name: 'the client token with the router off, one key for both',
    spec: withAuth({}, { router: { enabled: false } }),
  },
  { name: 'policies with their defaults', spec: withPeers(undefined) },
  {
    name: 'tolerations the pod API accepts',
    spec: withGpu({
      tolerations: [
        { operator: 'Exists' },
        { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
        { key: 'dedicated', operator: 'Equal', value: 'inference' },
        { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', tolerationSeconds: 30 },
      ],
    }),
  },
  {
    name: 'nodeSelector with prefixed keys and an empty value',
    spec: withGpu({
      nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3', pool: '', 'a_b.c-d': 'x' },
    }),
  },
  {
    name: 'limits equal to requests in other units',
    spec: withResources({
      requests: { cpu: 2, memory: '1024Mi' },
      limits: { cpu: '2000m', memory: '1Gi', 'ephemeral-storage': '10G', 'hugepages-2Mi': '1Gi' },
    }),
  },
  {
    name: 'a memory request above the default, with a limit to match',
    spec: withResources({ requests: { memory: '40Gi' }, limits: { memory: '40Gi' } }),
  },
  { name: 'a cpu limit at the default request', spec: withResources({ limits: { cpu: '4' } }) },
  { name: 'a relative subPath with dots in names', spec: withSubPath('models/..z/./v1..2') },
  {
    name: 'image with registry port, nested path and digest',
    spec: withRuntime({
      image: `localhost:5000/team/zimage_runtime-x@sha256:${'0a'.repeat(32)}`,
    }),
  },
  { name: 'image with no registry or tag', spec: withRuntime({ image: 'zimage' }) },
  {
    name: 'two imagePullSecrets',
    spec: () => ({ ...baseSpec(), imagePullSecrets: [{ name: 'a' }, { name: 'b' }] }),
  },
  {
    name: 'hysteresis on both sides, windows at 1h',
    spec: withAutoscaling({
      rules: [
        rule({ name: 'hot', threshold: 90, clearThreshold: 80, for: '1h', cooldown: '60m' }),
        rule({ name: 'cold', operator: 'Below', threshold: 30, clearThreshold: 30 }),
      ],
    }),
  },

  {
    name: 'minReplicas equal to maxReplicas',
    spec: withAutoscaling({ minReplicas: 3, maxReplicas: 3 }),
  },
  {
    name: "the seed's rules verbatim (steps set 16, attention math)",
    spec: withAutoscaling({
      mode: 'DryRun',
      rules: [
        rule({
          name: 'overload',
          threshold: 90,
          for: '5s',
          action: { type: 'Scale', scale: { by: 1 } },
        }),
        rule({
          name: 'vram',
          signal: 'vramUsedRatio',
          threshold: 0.875,
          action: { type: 'Attention', attention: 'math' },
        }),
        rule({
          name: 'slow',
          signal: 'latencyP95Seconds',
          threshold: 15,
          for: '30s',
          action: { type: 'Steps', steps: { set: 16 } },
        }),
      ],
    }),
  },
  {
    // The defaults a user may copy into a spec: both judges must accept every row.
    name: 'the default rules table written out',
    spec: withAutoscaling({ rules: structuredClone(defaultRules) }),
  },
];
