/** spec.router: the router Deployment in front of the runtime pods (docs/router.md). */
import { z } from 'zod';
import { containerResources, defaultsText } from './resources-spec.ts';

/**
 * The router holds images and HTTP connections, no model: ~60 MiB of heap idle in the runtime
 * e2e test, plus 64 queued requests' bodies and answers (a 1024^2 PNG is ~1.5 MiB, 4 per
 * request): 512Mi leaves room for a full queue of large answers.
 */
export const routerResourceDefaults = {
  requests: { cpu: '100m', memory: '128Mi' },
  limits: { memory: '512Mi' },
} as const;

export const routerSpec = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        "Put the router in front of the runtime pods: the Service named like this object selects the routers, <name>-pods the runtime pods, and the autoscaler reads the clients' wait from the routers. Off, the Service selects the runtime pods (requests land at random) and the wait is the pods' request duration.",
      ),
    replicas: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(2)
      .describe('Router pods, spread across nodes (a PodDisruptionBudget keeps all but one up).'),
    maxQueue: z
      .number()
      .int()
      .min(0)
      .max(100_000)
      .default(64)
      .describe(
        'Images that may wait in each router beyond what the pods take at once (429 past it).',
      ),
    podSlots: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(1)
      .describe('Images each router keeps on one runtime pod at once.'),
    resources: containerResources(routerResourceDefaults, {
      requests: 'Resource requests, e.g. cpu: 500m.',
      limits: 'Resource limits, e.g. memory: 1Gi.',
    }).describe(
      `Router container resources over the defaults (${defaultsText(routerResourceDefaults)}).`,
    ),
  })
  .strict();

export type RouterSpec = z.infer<typeof routerSpec>;
