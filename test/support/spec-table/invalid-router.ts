/** Invalid rows for spec.router: bounds, types, and its resources against the router's defaults. */
import { baseSpec, type InvalidCase } from './builders.ts';

export const withRouter = (router: Record<string, unknown>) => () => ({ ...baseSpec(), router });

export const invalidRouter: InvalidCase[] = [
  { name: 'router replicas 0', spec: withRouter({ replicas: 0 }), field: 'spec.router.replicas' },
  { name: 'router replicas 11', spec: withRouter({ replicas: 11 }), field: 'spec.router.replicas' },
  {
    name: 'router maxQueue negative',
    spec: withRouter({ maxQueue: -1 }),
    field: 'spec.router.maxQueue',
  },
  {
    name: 'router maxQueue past 100000',
    spec: withRouter({ maxQueue: 100_001 }),
    field: 'spec.router.maxQueue',
  },
  { name: 'router podSlots 0', spec: withRouter({ podSlots: 0 }), field: 'spec.router.podSlots' },
  {
    name: 'router podSlots 65',
    spec: withRouter({ podSlots: 65 }),
    field: 'spec.router.podSlots',
  },
  {
    name: 'router enabled as a string',
    spec: withRouter({ enabled: 'yes' }),
    field: 'spec.router.enabled',
  },
  {
    name: 'router cpu limit below its default request (100m)',
    spec: withRouter({ resources: { limits: { cpu: '50m' } } }),
    field: 'spec.router.resources',
    message: 'limits.cpu must be at least requests.cpu',
  },
  {
    name: 'router memory request above its default limit (512Mi)',
    spec: withRouter({ resources: { requests: { memory: '1Gi' } } }),
    field: 'spec.router.resources',
    message: 'limits.memory must be at least requests.memory',
  },
  {
    name: 'router resource name not a standard one',
    spec: withRouter({ resources: { requests: { gpu: '1' } } }),
    field: 'spec.router.resources.requests',
    message: 'resource names must be cpu, memory, ephemeral-storage, hugepages-<size>',
  },
];
