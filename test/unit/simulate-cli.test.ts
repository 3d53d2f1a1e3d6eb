import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../dev/paths.ts';
import { simulation } from '../../scripts/simulate.ts';

const run = promisify(execFile);
const cli = (...args: string[]) =>
  run(process.execPath, ['scripts/simulate.ts', ...args], { cwd: repoRoot }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

describe('npm run simulate', () => {
  it('prints the table for the seed example and its trace file, then the decisions', async () => {
    const out = await cli(
      '--zid',
      'deploy/examples/seed-rules.yaml',
      '--trace',
      'deploy/examples/traces/seed.csv',
      '--decisions',
      '3',
    );
    expect(out.code).toBe(0);
    const rows = out.stdout
      .split('\n')
      .filter((l) => l.startsWith('| ') && !l.startsWith('| policy'));
    expect(rows.map((r) => r.split('|')[1]!.trim())).toEqual([
      'zimage policy',
      'HPA gpu 80%',
      'KEDA queue/pod 2',
      'Knative KPA',
    ]);
    expect(out.stdout).toMatch(/Decisions the policy would take \(\d+, first 3\):/);
  });

  it.each([
    ['a spec field', 'maxReplicas: 0', /spec\.autoscaling\.maxReplicas/],
    ['a rule field', 'threshold: 900', /spec\.autoscaling\.rules\.1\.threshold/],
  ])('refuses a file with %s out of range, naming it (exit 2)', async (_what, patch, message) => {
    const seed = fs.readFileSync(path.join(repoRoot, 'deploy/examples/seed-rules.yaml'), 'utf8');
    const bad = patch.startsWith('max')
      ? seed.replace('maxReplicas: 4', patch)
      : seed.replace('threshold: 90\n', `${patch}\n`);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sim-')), 'bad.yaml');
    fs.writeFileSync(file, bad);
    const out = await cli('--zid', file, '--trace', 'builtin:constant');
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(message);
  });

  it('refuses a bad trace line, naming line and column', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sim-')), 't.csv');
    fs.writeFileSync(file, 'offset_seconds,size,steps,n\n0,1024x1024,,1\n1,huge,,1\n');
    const out = await cli('--zid', 'deploy/examples/seed-rules.yaml', '--trace', file);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/t\.csv: 1 bad row\n {2}line 3: size "huge": must be WIDTHxHEIGHT/);
  });

  it.each([
    ['--routing', 'random', /^simulate: --routing must be service, router or both, got "random"$/m],
    [
      '--router-queue',
      '1.5',
      /^simulate: --router-queue must be a whole number, 0 or more, got "1.5"$/m,
    ],
  ])('refuses %s %s with one line naming it (exit 2)', async (flag, value, message) => {
    const out = await cli(
      '--zid',
      'deploy/examples/seed-rules.yaml',
      '--trace',
      'builtin:seed',
      flag,
      value,
    );
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(message);
  });
});

describe('--routing, --router-queue, --policy-only', () => {
  const rows = (flags: string) =>
    simulation([
      ...['--zid', 'deploy/examples/seed-rules.yaml', '--trace', 'deploy/examples/traces/seed.csv'],
      ...flags.split(' '),
    ])
      .table.split('\n')
      .slice(2)
      .map((line) =>
        line
          .split('|')
          .slice(1, 3)
          .map((c) => c.trim()),
      );

  it.each([
    {
      flags: '--routing both',
      says: 'each controller twice, its front named',
      want: [
        ['zimage policy', 'random (Service)'],
        ['zimage policy', 'router, queue 64'],
        ['HPA gpu 80%', 'random (Service)'],
        ['HPA gpu 80%', 'router, queue 64'],
        ['KEDA queue/pod 2', 'random (Service)'],
        ['KEDA queue/pod 2', 'router, queue 64'],
        // With target-burst-capacity 211 the KPA keeps Knative's activator behind the Service.
        ['Knative KPA', 'Service + activator'],
        ['Knative KPA', 'router, queue 64'],
      ],
    },
    {
      // The default: the docs' tables from before the router stay as they were.
      flags: '--routing service',
      says: 'today’s table, no routing column',
      want: [
        ['zimage policy', '0.0%'],
        ['HPA gpu 80%', '0.0%'],
        ['KEDA queue/pod 2', '0.0%'],
        ['Knative KPA', '0.0%'],
      ],
    },
    {
      flags: '--routing router --router-queue 64,8 --policy-only',
      says: 'the policy alone, behind the router once per queue bound',
      want: [
        ['zimage policy', 'router, queue 64'],
        ['zimage policy', 'router, queue 8'],
      ],
    },
  ])('$flags: $says', ({ flags, want }) => {
    expect(rows(flags)).toEqual(want);
  });
});
