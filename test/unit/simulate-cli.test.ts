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

const seedArgs = ['--zid', 'deploy/examples/seed-rules.yaml', '--trace', 'builtin:seed'];

/** One line on stderr, no stack trace, the exit code of a usage error. */
const refusal = (out: { code: number; stderr: string }) => ({
  code: out.code,
  lines: out.stderr.split('\n').filter((l) => l !== '').length,
  stack: /^\s+at /m.test(out.stderr),
});

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
      'HPA gpu 50%',
      'HPA gpu 80%',
      'KEDA queue/pod 2',
      'Knative KPA',
    ]);
    // The log capped at 3 lines, saying how many it leaves out: all of them less 3.
    const total = Number(/Decisions the policy would take \((\d+)\):/.exec(out.stdout)?.[1]);
    expect(out.stdout).toContain(`  ... ${total - 3} more left out (--decisions N prints N)\n`);
  });

  it.each(['--help', '-h'])('%s prints the usage and exits 0', async (flag) => {
    const out = await cli(flag);
    expect([out.code, out.stderr]).toEqual([0, '']);
    expect(out.stdout).toMatch(/^usage: npm run simulate -- --zid FILE.yaml --trace /);
  });

  it.each([
    ['--startup', '-5', '--startup takes seconds, a number above 0, got "-5"'],
    ['--gpus', '2.5', '--gpus takes a whole number of GPUs, 1 or more, got "2.5"'],
    [
      '--hpa-target',
      '500',
      '--hpa-target takes GPU utilization percentages above 0 and at most 100, comma-separated, got "500"',
    ],
    ['--decisions', 'abc', '--decisions takes a whole number of lines, 0 or more, got "abc"'],
    ['--seed', 'x', '--seed takes a whole number, got "x"'],
    ['--routing', 'foo', '--routing takes service, router or both, got "foo"'],
    [
      '--router-queue',
      '0',
      '--router-queue takes whole numbers of images, 1 or more, comma-separated, got "0"',
    ],
    ['--hpa', '50', 'unknown flag --hpa (did you mean --hpa-target?)'],
    ['--policy-only=yes', '', '--policy-only takes no value, got "yes"'],
  ])('refuses %s %s on one line, naming the flag (exit 2)', async (flag, value, message) => {
    const out = await cli(...seedArgs, flag, ...(value ? [value] : []));
    expect(refusal(out)).toEqual({ code: 2, lines: 1, stack: false });
    expect(out.stderr).toBe(`simulate: ${message}; run with --help for usage\n`);
  });

  it('refuses a flag whose value is missing, taken by the next flag (exit 2)', async () => {
    const out = await cli('--zid', '--trace', 'builtin:seed');
    expect(refusal(out)).toEqual({ code: 2, lines: 1, stack: false });
    expect(out.stderr).toMatch(/^simulate: --zid needs a value: FILE.yaml, a ZImageDeployment;/);
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
    expect(refusal(out)).toEqual({ code: 2, lines: 1, stack: false });
    expect(out.stderr).toMatch(message);
  });

  it('refuses a bad trace line, naming line and column, on one line', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sim-')), 't.csv');
    fs.writeFileSync(file, 'offset_seconds,size,steps,n\n0,1024x1024,,1\n1,huge,,1\n');
    const out = await cli('--zid', 'deploy/examples/seed-rules.yaml', '--trace', file);
    expect(refusal(out)).toEqual({ code: 2, lines: 1, stack: false });
    expect(out.stderr).toMatch(/t\.csv: 1 bad row; line 3: size "huge": must be WIDTHxHEIGHT/);
  });
});

describe('npm run simulate through a pipe', () => {
  // A 6 h trace's decisions: ~130 KB, twice a pipe's 64 KB buffer.
  const args = [
    ...['--zid', 'deploy/examples/seed-rules.yaml', '--trace', 'builtin:daily-bursts'],
    ...['--length', '6h', '--policy-only', '--decisions', '100000'],
  ];
  const shell = (pipe: string) =>
    run(
      'bash',
      ['-c', `set -o pipefail; "$0" scripts/simulate.ts "$@" ${pipe}`, process.execPath, ...args],
      {
        cwd: repoRoot,
        maxBuffer: 1 << 26,
      },
    );

  it('gives a slow reader all of it, and stops cleanly when the reader stops', async () => {
    const direct = await cli(...args);
    expect(direct.stdout.length).toBeGreaterThan(1 << 16);
    // The reader starts a second late: the writer must wait for the pipe, not exit with output
    // still queued.
    const slow = await shell('| (sleep 1; cat)');
    expect(slow.stdout).toBe(direct.stdout);
    // head leaves after 2 lines: the closed pipe ends the output quietly, exit 0 (pipefail).
    const head = await shell('| head -n 2');
    expect([head.stdout.split('\n').length, head.stderr]).toEqual([3, '']);
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
        ['HPA gpu 50%', 'random (Service)'],
        ['HPA gpu 50%', 'router, queue 64'],
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
        ['HPA gpu 50%', '0.0%'],
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
