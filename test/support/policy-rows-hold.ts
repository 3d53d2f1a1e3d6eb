/** decide() rows: missing data, modes, manual scaling, rule actions, sampling. */
import { rule, seedRules, twoNotchesAtMax, withRules, type Row } from './policy-rows.ts';

export const holdRows: Row[] = [
  {
    name: 'no scale-in while requests queue',
    script: [{ at: 0, to: 900, set: { gpu: 20, queue: 2 }, want: { actions: [] } }],
  },
  {
    name: 'missing data holds: no scale-in while the GPU source is down, and the reason shows',
    replicas: 3,
    script: [
      {
        at: 0,
        to: 900,
        set: { missing: { gpuUtilization: 'SourceDown' } },
        want: {
          actions: [],
          rules: { idle: 'Inactive' },
          conditions: ['MetricsAvailable=False/SourceDown'],
        },
      },
    ],
  },
  {
    name: 'NaN is not zero load: held, MetricsAvailable=False/NotANumber',
    replicas: 3,
    script: [
      {
        at: 0,
        to: 600,
        set: { missing: { gpuUtilization: 'NotANumber' } },
        want: { actions: [], conditions: ['MetricsAvailable=False/NotANumber'] },
      },
    ],
  },
  {
    name: 'an outage mid-window neither resets nor completes it; the first breach after does',
    script: [
      { at: 0, to: 2, set: { gpu: 95 }, want: { actions: [] } },
      {
        at: 3,
        to: 10,
        set: { missing: { gpuUtilization: 'Stale' } },
        want: { actions: [], rules: { 'gpu-saturated': 'Pending' } },
      },
      {
        at: 11,
        set: { missing: {}, gpu: 95 },
        want: { actions: ['scale 2 -> 3', 'steps 9 -> 8'] },
      },
    ],
  },
  {
    name: 'missing data holds quality: at max no notch while the queue source is down',
    replicas: 4,
    script: [
      {
        at: 0,
        to: 120,
        set: { gpu: 95, missing: { queueDepth: 'NoData' } },
        want: { actions: [], steps: 9 },
      },
    ],
  },
  {
    name: 'missing client wait still lets a scale-out through (never unsafe), and says what is out',
    script: [
      {
        at: 0,
        to: 5,
        set: { gpu: 95, missing: { waitP95Seconds: 'SourceDown' } },
        want: {
          actions: ['scale 2 -> 3'],
          conditions: ['MetricsAvailable=False/SourceDown'],
          message: /waitP95Seconds: SourceDown/,
        },
      },
    ],
  },
  {
    name: 'a latency window with no finished image is neither slow nor an outage',
    script: [
      {
        at: 0,
        to: 300,
        set: { gpu: 10, latency: 'NoObservations' },
        want: { actions: ['scale 2 -> 1'], conditions: ['MetricsAvailable=True/SignalsAvailable'] },
      },
    ],
  },
  {
    name: 'DryRun records without acting, once per cooldown, against what runs',
    spec: { autoscaling: { mode: 'DryRun' } },
    script: [
      {
        at: 0,
        to: 5,
        set: { gpu: 95 },
        want: { actions: [], recorded: ['scale 2 -> 3 (dry run)', 'steps 9 -> 8 (dry run)'] },
      },
      {
        at: 6,
        to: 35,
        want: { actions: [], recorded: ['scale 2 -> 3 (dry run)', 'steps 9 -> 8 (dry run)'] },
      },
    ],
  },
  {
    name: 'DryRun at max records the notch it would take; quality stays at the spec',
    spec: { autoscaling: { mode: 'DryRun' } },
    replicas: 4,
    script: [
      {
        at: 0,
        to: 35,
        set: { gpu: 95 },
        want: {
          actions: [],
          recorded: ['steps 9 -> 8 (dry run)', 'steps 9 -> 8 (dry run)'],
          steps: 9,
          level: 0,
        },
      },
    ],
  },
  {
    name: 'DryRun leaves replicas to people: a manual scale is neither noted nor undone',
    spec: { autoscaling: { mode: 'DryRun' } },
    script: [{ at: 0, to: 20, set: { replicas: 3 }, want: { actions: [], recorded: [] } }],
  },
  {
    name: 'Off decides nothing, keeps no window and says why',
    spec: { autoscaling: { mode: 'Off' } },
    script: [
      {
        at: 0,
        to: 60,
        set: { gpu: 99 },
        want: {
          actions: [],
          rules: { 'gpu-saturated': 'Inactive' },
          conditions: ['MetricsAvailable=Unknown/AutoscalingOff'],
        },
      },
    ],
  },
  {
    name: 'a manual scale in Enforce is noted and overruled at the next decision',
    script: [
      { at: 0, to: 9, want: { actions: [], replicas: 2 } },
      { at: 10, set: { replicas: 4 }, want: { actions: ['scale 4 -> 2'], replicas: 2 } },
    ],
  },
  {
    name: 'two scale-out rules breaching together add one pod, not two',
    spec: withRules(
      rule({ name: 'util' }),
      rule({ name: 'queue', signal: 'queueDepth', threshold: 4 }),
    ),
    script: [
      {
        at: 0,
        to: 5,
        set: { gpu: 95, queue: 10 },
        want: { actions: ['scale 2 -> 3', 'steps 9 -> 8'] },
      },
    ],
  },
  {
    name: 'quality comes back only once every pressure rule has cleared (85% holds Firing)',
    replicas: 4,
    script: [
      ...twoNotchesAtMax,
      { at: 36, to: 400, set: { gpu: 85 }, want: { actions: [], steps: 7 } },
    ],
  },
  {
    name: 'quality debt at maxReplicas: the notch stays, no pod past max',
    replicas: 3,
    script: [
      {
        at: 0,
        to: 5,
        set: { gpu: 95, starting: 1 },
        want: { actions: ['scale 3 -> 4', 'steps 9 -> 8'] },
      },
      // 75% x 8/7 passes = 86% >= 81: the notch stays; a pod more would make room, but 4 is max.
      { at: 6, to: 120, set: { gpu: 75, starting: 0 }, want: { actions: [], steps: 8 } },
    ],
  },
  {
    name: 'quality debt: when giving a notch back would overload the fleet, one pod more first',
    spec: { autoscaling: { maxReplicas: 6 } },
    replicas: 3,
    script: [
      {
        at: 0,
        to: 5,
        set: { gpu: 95, starting: 1 },
        want: { actions: ['scale 3 -> 4', 'steps 9 -> 8'] },
      },
      // Calm from 6 s (gpu-saturated cleared) for its 30 s cooldown: at 36 s the restore is
      // refused on load and a pod is added instead; with it the load falls and 8 -> 9 goes.
      {
        at: 6,
        to: 36,
        set: { gpu: 75, starting: 0 },
        want: { actions: ['scale 4 -> 5'], steps: 8 },
      },
      { at: 37, set: { gpu: 60 }, want: { actions: ['steps 8 -> 9'], level: 0 } },
    ],
  },
  {
    name: "the seed's slow-image rule: steps set 16 at the first slow p95",
    spec: seedRules,
    script: [{ at: 0, set: { latency: 16 }, want: { actions: ['steps 9 -> 16'] } }],
  },
  {
    name: 'steps by -3 stops at the floor (5 steps = 4 passes)',
    spec: {
      runtime: { steps: 7 },
      ...withRules(
        rule({
          signal: 'latencyP95Seconds',
          threshold: 15,
          for: '0s',
          action: { type: 'Steps', steps: { by: -3 } },
        }),
      ),
    },
    script: [
      { at: 0, to: 100, set: { latency: 20 }, want: { actions: ['steps 7 -> 5'], steps: 5 } },
    ],
  },
  {
    name: 'a window shorter than the sampling interval: SamplingSufficient=False says what to change',
    script: [
      {
        at: 0,
        set: { everySeconds: 30 },
        want: {
          conditions: ['SamplingSufficient=False/WindowShorterThanSampling'],
          message:
            /rule gpu-saturated: for 5s but gpuUtilization is sampled every 30s; .*DCGM_EXPORTER_INTERVAL=1000.*or set for to at least 30s/,
        },
      },
    ],
  },
  {
    name: 'windows at least as long as 1 s sampling: SamplingSufficient=True',
    script: [{ at: 0, want: { conditions: ['SamplingSufficient=True/WindowsCovered'] } }],
  },
];
