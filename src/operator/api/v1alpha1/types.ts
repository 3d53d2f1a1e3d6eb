import type { V1ObjectMeta } from '@kubernetes/client-node';
import type {
  AttentionBackend,
  ExecutionProvider,
  OffloadMode,
} from '../../../contract/runtime.ts';
import { crdNames } from './crd.ts';
import type { ZImageDeploymentSpec } from './spec.ts';
import type { ZImageDeploymentStatus } from './status.ts';

export const apiVersion = `${crdNames.group}/${crdNames.version}`;

/** A ZImageDeployment as read from the API server (spec not yet validated by zod). */
export interface ZImageDeploymentObject {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec?: unknown;
  status?: ZImageDeploymentStatus;
}

/** A ZImageDeployment whose spec passed the zod schema (defaults applied). */
export interface ZImageDeployment {
  metadata: V1ObjectMeta & { name: string; namespace: string; uid: string };
  spec: ZImageDeploymentSpec;
  status?: ZImageDeploymentStatus;
}

/** What runs now: the spec, or in Enforce mode what the autoscaler decided (effectiveOf). */
export interface Effective {
  replicas: number;
  steps: number;
  offload: OffloadMode;
  attention: AttentionBackend;
  executionProvider: ExecutionProvider;
}
