import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../../dev/paths.ts';

interface Stage {
  kind: string;
  metadata: { name: string };
  spec: {
    resourceRef: { kind: string };
    selector: { matchExpressions: { key: string; operator: string }[] };
    next: { statusTemplate?: string; delete?: boolean };
  };
}

const stages = parseAllDocuments(
  fs.readFileSync(path.join(repoRoot, 'dev', 'kwok-stages.yaml'), 'utf8'),
).map((doc) => doc.toJS() as Stage);
const stage = (name: string) => stages.find((s) => s.metadata.name === name)!;

describe('kwok stages (v0.8 ships none)', () => {
  it('covers node readiness, heartbeat, pod readiness and pod deletion', () => {
    expect(stages.map((s) => s.kind)).toEqual(['Stage', 'Stage', 'Stage', 'Stage']);
    expect(stages.map((s) => `${s.spec.resourceRef.kind}/${s.metadata.name}`)).toEqual([
      'Node/node-ready',
      'Node/node-heartbeat',
      'Pod/pod-running',
      'Pod/pod-gone',
    ]);
  });

  it('never marks a pod that is being deleted Running, and deletes those', () => {
    const running = stage('pod-running').spec.selector.matchExpressions;
    expect(running).toContainEqual({
      key: '.metadata.deletionTimestamp',
      operator: 'DoesNotExist',
    });
    expect(stage('pod-gone').spec.next.delete).toBe(true);
    expect(stage('pod-gone').spec.selector.matchExpressions).toEqual([
      { key: '.metadata.deletionTimestamp', operator: 'Exists' },
    ]);
  });

  it('gives pods their IP from kwok’s --cidr (loopback) and Ready conditions', () => {
    const template = stage('pod-running').spec.next.statusTemplate!;
    expect(template).toContain('PodIPsWith');
    expect(template).toMatch(/"Ready"/);
  });
});
