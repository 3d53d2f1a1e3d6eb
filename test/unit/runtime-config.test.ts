import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/runtime/config.ts';

const noFile = (path: string): string => {
  throw new Error(`ENOENT: ${path}`);
};

describe('runtime configuration from env', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({}, noFile);
    expect(c).toMatchObject({
      modelDir: '/models',
      executionProvider: 'cuda',
      attention: 'cudnn',
      precision: 'bf16',
      maxResolution: { width: 1024, height: 1024 },
      maxQueue: 4,
      requestTimeoutSeconds: 120,
      steps: 9,
      offload: 'none',
      port: 8080,
      host: '0.0.0.0',
      maxImagesPerRequest: 4,
      bodyLimitBytes: 65_536,
      shutdownGraceSeconds: 125,
      maxOomRestarts: 3,
      warmupSize: { width: 64, height: 64 },
      warmupSteps: 2,
      logLevel: 'info',
      liveConfig: undefined,
    });
    expect(c.apiToken).toBeUndefined();
    expect(c.intraOpThreads).toBeUndefined();
  });

  it.each([
    [
      'max resolution',
      { ZIMAGE_MAX_RESOLUTION: '1536x768' },
      { maxResolution: { width: 1536, height: 768 } },
    ],
    [
      'grace follows the timeout',
      { ZIMAGE_REQUEST_TIMEOUT_SECONDS: '30' },
      { shutdownGraceSeconds: 35 },
    ],
    ['explicit grace', { ZIMAGE_SHUTDOWN_GRACE_SECONDS: '10' }, { shutdownGraceSeconds: 10 }],
    [
      'live config',
      { ZIMAGE_CONFIG_MAP: 'cm', ZIMAGE_NAMESPACE: 'ns' },
      { liveConfig: { configMap: 'cm', namespace: 'ns' } },
    ],
    ['token', { ZIMAGE_API_TOKEN: 's3cret' }, { apiToken: { token: 's3cret' } }],
    ['token grace', { ZIMAGE_TOKEN_GRACE_SECONDS: '0' }, { tokenGraceSeconds: 0 }],
    ['empty means unset', { ZIMAGE_MAX_QUEUE: '', ZIMAGE_STEPS: '' }, { maxQueue: 4, steps: 9 }],
    ['queue of 0', { ZIMAGE_MAX_QUEUE: '0' }, { maxQueue: 0 }],
    [
      'cpu offload',
      { ZIMAGE_OFFLOAD: 'cpu', ZIMAGE_EXECUTION_PROVIDER: 'webgpu' },
      { offload: 'cpu', executionProvider: 'webgpu' },
    ],
    ['threads', { ZIMAGE_INTRA_OP_THREADS: '3' }, { intraOpThreads: 3 }],
  ])('%s', (_name, env, expected) => {
    expect(loadConfig(env, noFile)).toMatchObject(expected);
  });

  it('checks the token file at start-up and keeps its path (re-read while running)', () => {
    const c = loadConfig({ ZIMAGE_API_TOKEN_FILE: '/run/secrets/token' }, (path) => {
      expect(path).toBe('/run/secrets/token');
      return 'tok-123\n';
    });
    expect(c.apiToken).toEqual({ file: '/run/secrets/token' });
    expect(c.tokenGraceSeconds).toBe(120);
  });

  it.each([
    ['bad EP', { ZIMAGE_EXECUTION_PROVIDER: 'rocm' }, 'ZIMAGE_EXECUTION_PROVIDER'],
    ['bad attention', { ZIMAGE_ATTENTION: 'sdpa' }, 'ZIMAGE_ATTENTION'],
    ['bad precision', { ZIMAGE_PRECISION: 'fp8' }, 'ZIMAGE_PRECISION'],
    [
      'resolution not x16',
      { ZIMAGE_MAX_RESOLUTION: '1000x1000' },
      'ZIMAGE_MAX_RESOLUTION: "1000x1000": each side must be a multiple of 16',
    ],
    [
      'resolution malformed',
      { ZIMAGE_MAX_RESOLUTION: '1024' },
      'ZIMAGE_MAX_RESOLUTION: "1024": expected WIDTHxHEIGHT',
    ],
    [
      'resolution with leading zeros',
      { ZIMAGE_MAX_RESOLUTION: '0512x0512' },
      'ZIMAGE_MAX_RESOLUTION: "0512x0512": expected WIDTHxHEIGHT without spaces or leading zeros',
    ],
    [
      'resolution with a space',
      { ZIMAGE_MAX_RESOLUTION: ' 512x512' },
      'ZIMAGE_MAX_RESOLUTION: " 512x512": expected WIDTHxHEIGHT without spaces',
    ],
    ['resolution too small', { ZIMAGE_MAX_RESOLUTION: '32x32' }, 'ZIMAGE_MAX_RESOLUTION'],
    ['queue negative', { ZIMAGE_MAX_QUEUE: '-1' }, 'ZIMAGE_MAX_QUEUE'],
    ['queue not a number', { ZIMAGE_MAX_QUEUE: 'four' }, 'ZIMAGE_MAX_QUEUE'],
    ['timeout 0', { ZIMAGE_REQUEST_TIMEOUT_SECONDS: '0' }, 'ZIMAGE_REQUEST_TIMEOUT_SECONDS'],
    ['steps 0', { ZIMAGE_STEPS: '0' }, 'ZIMAGE_STEPS'],
    ['steps 51', { ZIMAGE_STEPS: '51' }, 'ZIMAGE_STEPS'],
    ['steps fractional', { ZIMAGE_STEPS: '8.5' }, 'ZIMAGE_STEPS'],
    ['offload unknown', { ZIMAGE_OFFLOAD: 'disk' }, 'ZIMAGE_OFFLOAD'],
    ['port out of range', { ZIMAGE_PORT: '70000' }, 'ZIMAGE_PORT'],
    ['n max 0', { ZIMAGE_MAX_IMAGES_PER_REQUEST: '0' }, 'ZIMAGE_MAX_IMAGES_PER_REQUEST'],
    ['body limit tiny', { ZIMAGE_BODY_LIMIT_BYTES: '10' }, 'ZIMAGE_BODY_LIMIT_BYTES'],
    ['oom restarts negative', { ZIMAGE_MAX_OOM_RESTARTS: '-1' }, 'ZIMAGE_MAX_OOM_RESTARTS'],
    ['log level', { ZIMAGE_LOG_LEVEL: 'loud' }, 'ZIMAGE_LOG_LEVEL'],
    ['warm-up size', { ZIMAGE_WARMUP_SIZE: '65x64' }, 'ZIMAGE_WARMUP_SIZE'],
    [
      'ConfigMap without namespace',
      { ZIMAGE_CONFIG_MAP: 'cm' },
      'ZIMAGE_CONFIG_MAP and ZIMAGE_NAMESPACE: set both or neither',
    ],
    ['namespace without ConfigMap', { ZIMAGE_NAMESPACE: 'ns' }, 'set both or neither'],
    [
      'token twice',
      { ZIMAGE_API_TOKEN: 'a', ZIMAGE_API_TOKEN_FILE: '/x' },
      'ZIMAGE_API_TOKEN and ZIMAGE_API_TOKEN_FILE: set one, not both',
    ],
    [
      'a token with a space',
      { ZIMAGE_API_TOKEN: 'a b' },
      'ZIMAGE_API_TOKEN: must be printable ASCII without spaces',
    ],
    ['grace past an hour', { ZIMAGE_TOKEN_GRACE_SECONDS: '3601' }, 'ZIMAGE_TOKEN_GRACE_SECONDS'],
    [
      'token file unreadable',
      { ZIMAGE_API_TOKEN_FILE: '/nope' },
      'ZIMAGE_API_TOKEN_FILE: cannot read /nope',
    ],
  ])('rejects %s, naming the variable', (_name, env, named) => {
    expect(() => loadConfig(env, noFile)).toThrow(named);
  });

  it('rejects an empty token file', () => {
    expect(() => loadConfig({ ZIMAGE_API_TOKEN_FILE: '/t' }, () => '\n')).toThrow(
      'ZIMAGE_API_TOKEN_FILE: /t holds no token',
    );
  });

  it('lists every bad variable at once', () => {
    expect(() => loadConfig({ ZIMAGE_STEPS: '0', ZIMAGE_PORT: 'x' }, noFile)).toThrow(
      /ZIMAGE_STEPS[\s\S]*ZIMAGE_PORT|ZIMAGE_PORT[\s\S]*ZIMAGE_STEPS/,
    );
  });
});
