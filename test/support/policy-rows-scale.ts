/** decide() rows: windows, cooldowns, bounds, the quality ladder down and up, scale-in. */
import { defaultRules } from '../../src/operator/api/v1alpha1/default-rules.ts';
import { rule, seedRules, twoNotchesAtMax, wobble, withRules, type Row } from './policy-rows.ts';

export const scaleRows: Row[] = [
  {
    name: 'a spike shorter than the window does nothing',
    script: [
      {
        at: 0,
        to: 3,
        set: { gpu: 99 },
        want: { actions: [], rules: { 'gpu-saturated': 'Pending' } },
      },
      {
        at: 4,
        to: 40,
        set: { gpu: 60 },
        want: { actions: [], rules: { 'gpu-saturated': 'Inactive' } },
      },
    ],
  },
  {
    name: 'a breach as long as the window fires when the window closes',
    script: [
      { at: 0, to: 4, set: { gpu: 95 }, want: { actions: [] } },
      // The new pod serves in ~105 s: quality bridges the wait from the first decision on.
      {
        at: 5,
        want: { actions: ['scale 2 -> 3', 'steps 9 -> 8'], rules: { 'gpu-saturated': 'Firing' } },
      },
    ],
  },
  {
    name: 'a sustained breach fires once, then cools down for 30 s',
    script: [
      { at: 0, to: 5, set: { gpu: 95 }, want: { actions: ['scale 2 -> 3', 'steps 9 -> 8'] } },
      { at: 6, to: 34, want: { actions: [], replicas: 3 } },
      { at: 35, want: { actions: ['scale 3 -> 4', 'steps 8 -> 7'] } },
    ],
  },
  {
    name: 'a signal wobbling around the threshold never holds a whole window: no action',
    script: [...wobble(0, 60, 91, 89), { at: 61, want: { rules: { 'gpu-saturated': 'Pending' } } }],
  },
  {
    name: 'once firing, a wobble in the band holds Firing; it acts again on a breach after the cooldown',
    script: [
      { at: 0, to: 5, set: { gpu: 95 }, want: { actions: ['scale 2 -> 3', 'steps 9 -> 8'] } },
      ...wobble(6, 34, 85, 92),
      { at: 35, set: { gpu: 86 }, want: { actions: [], rules: { 'gpu-saturated': 'Firing' } } },
      { at: 36, set: { gpu: 92 }, want: { actions: ['scale 3 -> 4', 'steps 8 -> 7'] } },
    ],
  },
  {
    name: 'falling past the clear level ends Firing; a new breach needs a whole new window',
    script: [
      { at: 0, to: 5, set: { gpu: 95 }, want: { actions: ['scale 2 -> 3', 'steps 9 -> 8'] } },
      { at: 6, set: { gpu: 80 }, want: { rules: { 'gpu-saturated': 'Inactive' } } },
      { at: 7, to: 11, set: { gpu: 95 }, want: { rules: { 'gpu-saturated': 'Pending' } } },
      { at: 12, to: 34, want: { actions: [], rules: { 'gpu-saturated': 'Firing' } } },
      { at: 35, want: { actions: ['scale 3 -> 4', 'steps 8 -> 7'] } },
    ],
  },
  {
    name: 'bounds: a rule of +5 stops at maxReplicas',
    spec: withRules(rule({ action: { type: 'Scale', scale: { by: 5 } } })),
    script: [
      {
        at: 0,
        to: 5,
        set: { gpu: 95 },
        want: { actions: ['scale 2 -> 4', 'steps 9 -> 8'], replicas: 4 },
      },
    ],
  },
  {
    name: 'bounds: replicas above a lowered maxReplicas come inside at once',
    replicas: 6,
    script: [{ at: 0, want: { actions: ['scale 6 -> 4'], replicas: 4 } }],
  },
  {
    name: 'bounds: replicas below minReplicas come up at once',
    spec: { autoscaling: { minReplicas: 3 } },
    script: [{ at: 0, want: { actions: ['scale 2 -> 3'], replicas: 3 } }],
  },
  {
    name: 'at max, gpu-saturated walks steps down one per cooldown to the floor and no further',
    replicas: 4,
    script: [
      {
        at: 0,
        to: 95,
        set: { gpu: 95 },
        want: { actions: ['steps 9 -> 8', 'steps 8 -> 7', 'steps 7 -> 6', 'steps 6 -> 5'] },
      },
      {
        at: 96,
        to: 400,
        want: {
          actions: [],
          steps: 5,
          level: 4,
          conditions: ['ScalingLimited=True/AtMaxReplicas'],
        },
      },
    ],
  },
  {
    name: 'at max replicas the latency rule walks the ladder down to the floor and no further',
    replicas: 4,
    script: [
      { at: 0, to: 29, set: { latency: 20 }, want: { actions: [] } },
      { at: 30, want: { actions: ['steps 9 -> 8'] } },
      { at: 31, to: 89, want: { actions: [] } },
      { at: 90, to: 210, want: { actions: ['steps 8 -> 7', 'steps 7 -> 6', 'steps 6 -> 5'] } },
      { at: 211, to: 600, want: { actions: [], steps: 5, message: /floor 5/ } },
    ],
  },
  {
    name: 'pods Pending for GPUs: no more replicas, one notch of quality instead',
    replicas: 3,
    script: [
      {
        at: 0,
        to: 5,
        set: { gpu: 95, pending: 1 },
        want: {
          actions: ['steps 9 -> 8'],
          replicas: 3,
          conditions: ['ScalingLimited=True/PodsPending'],
        },
      },
    ],
  },
  {
    name: 'pods still starting: one pod more and one notch down together',
    replicas: 3,
    script: [
      {
        at: 0,
        to: 5,
        set: { gpu: 95, starting: 1 },
        want: { actions: ['scale 3 -> 4', 'steps 9 -> 8'] },
      },
    ],
  },
  {
    name: 'VRAM pressure: offload first, steps only once the pressure is gone',
    replicas: 4,
    script: [
      { at: 0, to: 5, set: { gpu: 95, vram: 0.9 }, want: { actions: ['offload none -> model'] } },
      { at: 6, to: 35, set: { vram: 0.7 }, want: { actions: ['steps 9 -> 8'], offload: 'model' } },
    ],
  },
  {
    name: "VRAM pressure with the seed's attention rule: the ladder's first notch is offload",
    spec: seedRules,
    replicas: 4,
    script: [
      {
        at: 0,
        to: 5,
        set: { gpu: 95, vram: 0.9 },
        want: { actions: ['attention cudnn -> efficient'] },
      },
      { at: 6, to: 35, want: { actions: ['offload none -> model'], attention: 'efficient' } },
    ],
  },
  {
    name: 'offload climbs one level each time the VRAM rule fires again, then stops',
    script: [
      {
        at: 0,
        to: 100,
        set: { vram: 0.95 },
        want: { actions: ['offload none -> model', 'offload model -> cpu'], offload: 'cpu' },
      },
    ],
  },
  {
    name: 'idle restores quality, newest first, after a cooldown of calm, before it scales in',
    replicas: 4,
    script: [
      ...twoNotchesAtMax,
      // gpu-saturated clears at 36 s: the first notch comes back 30 s (its cooldown) later.
      { at: 36, to: 65, set: { gpu: 20 }, want: { actions: [], rules: { idle: 'Pending' } } },
      { at: 66, to: 96, want: { actions: ['steps 7 -> 8', 'steps 8 -> 9'], level: 0 } },
      { at: 97, to: 335, want: { actions: [] } },
      { at: 336, want: { actions: ['scale 4 -> 3'] } },
    ],
  },
  {
    name: 'a gap with no data is not calm: quality waits a whole cooldown of data after it',
    replicas: 4,
    script: [
      ...twoNotchesAtMax,
      // gpu-saturated clears at 36 s; then the GPU source is down for 65 s (36 + 65 = 101).
      { at: 36, set: { gpu: 20 }, want: { actions: [] } },
      {
        at: 37,
        to: 101,
        set: { missing: { gpuUtilization: 'SourceDown' } },
        want: { actions: [] },
      },
      // Data back at 102 s: 66 s since the rule cleared, but calm counts from 102: not before
      // 132 s (the notch's 30 s cooldown of data).
      { at: 102, to: 131, set: { missing: {} }, want: { actions: [], level: 2 } },
      { at: 132, want: { actions: ['steps 7 -> 8'] } },
    ],
  },
  {
    name: 'a notch VRAM will not give back (model -> none on 16 GiB) keeps the fleet from scaling in',
    script: [
      { at: 0, to: 5, set: { vram: 0.9 }, want: { actions: ['offload none -> model'] } },
      { at: 6, to: 900, set: { vram: 0.6, gpu: 10 }, want: { actions: [], replicas: 2, level: 1 } },
    ],
  },
  {
    name: 'on an 80 GiB card the same notch comes back, then the idle fleet scales in',
    spec: { gpu: { memoryGiB: 80 } },
    script: [
      { at: 0, to: 5, set: { vram: 0.9 }, want: { actions: ['offload none -> model'] } },
      { at: 6, to: 36, set: { vram: 0.3, gpu: 10 }, want: { actions: ['offload model -> none'] } },
      { at: 37, to: 306, want: { actions: ['scale 2 -> 1'] } },
    ],
  },
  {
    name: 'scale-in: one pod per 5 min cooldown, down to minReplicas and no further',
    replicas: 4,
    script: [
      { at: 0, to: 299, set: { gpu: 20 }, want: { actions: [] } },
      { at: 300, to: 900, want: { actions: ['scale 4 -> 3', 'scale 3 -> 2', 'scale 2 -> 1'] } },
      { at: 901, to: 1500, want: { actions: [], replicas: 1 } },
    ],
  },
  {
    name: 'N/(N-1): no scale-in when the survivors would cross the clear level (2 x 44% = 88%)',
    spec: withRules(
      defaultRules[0]!,
      rule({
        name: 'idle',
        operator: 'Below',
        threshold: 45,
        for: '5m',
        cooldown: '5m',
        action: { type: 'Scale', scale: { by: -1 } },
      }),
    ),
    script: [{ at: 0, to: 900, set: { gpu: 44 }, want: { actions: [], replicas: 2 } }],
  },
  {
    name: 'N/(N-1): the same 44% on 3 pods leaves 2 at 66%: one pod goes',
    spec: withRules(
      defaultRules[0]!,
      rule({
        name: 'idle',
        operator: 'Below',
        threshold: 45,
        for: '5m',
        cooldown: '5m',
        action: { type: 'Scale', scale: { by: -1 } },
      }),
    ),
    replicas: 3,
    script: [{ at: 0, to: 600, set: { gpu: 44 }, want: { actions: ['scale 3 -> 2'] } }],
  },
];
