/** Which API errors on a child are rejections (a condition) and which are transient (retried). */
import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { isRejection, rejectionOf } from '../../src/operator/child-errors.ts';
import { apiStatus, describeApiError } from '../../src/formats/api-status.ts';
import { apiError } from '../support/fake-api.ts';

describe('isRejection', () => {
  it.each([
    ['422 invalid', apiError(422, 'Deployment.apps "x" is invalid: ...'), true],
    [
      '403 quota or admission policy',
      apiError(403, 'services "x" is forbidden: exceeded quota'),
      true,
    ],
    ['400 bad request', apiError(400, 'the object provided is unrecognized'), true],
    ['401 our own token', apiError(401, 'Unauthorized'), false],
    [
      '404 the Role a RoleBinding needs, not there yet',
      apiError(404, 'roles "x" not found'),
      false,
    ],
    ['408 timeout', apiError(408, 'request timeout'), false],
    ['409 conflict', apiError(409, 'the object has been modified'), false],
    ['429 throttled', apiError(429, 'too many requests'), false],
    ['500 etcd', apiError(500, 'etcdserver: request timed out'), false],
    [
      '500 typed patch (duplicate list-map key)',
      apiError(500, 'failed to create typed patch object (ns/x; apps/v1, Kind=Deployment): dup'),
      true,
    ],
    [
      '500 conversion (bad quantity)',
      apiError(
        500,
        'failed to convert new object (ns/x; apps/v1, Kind=Deployment) to proper version',
      ),
      true,
    ],
    [
      '503 unavailable',
      apiError(503, 'the server is currently unable to handle the request'),
      false,
    ],
    [
      'no response',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }),
      false,
    ],
  ])('%s -> %s', (_n, err, rejected) => {
    expect(isRejection(err)).toBe(rejected);
  });
});

describe('rejectionOf (the words a user gets)', () => {
  it('names the child when the message does not, and the spec field behind it', () => {
    const r = rejectionOf(
      'Deployment',
      'turbo',
      apiError(
        500,
        'failed to create typed patch object (ml/turbo; apps/v1, Kind=Deployment): .spec.template.spec.imagePullSecrets: duplicate entries for key [name="a"]',
      ),
    );
    expect(r?.message).toBe(
      'Deployment "turbo": failed to create typed patch object (ml/turbo; apps/v1, Kind=Deployment): .spec.template.spec.imagePullSecrets: duplicate entries for key [name="a"] [from spec.imagePullSecrets]',
    );
  });

  it('adds the causes the message leaves out', () => {
    const r = rejectionOf(
      'Service',
      'turbo',
      apiError(422, 'Service "turbo" is invalid', {
        causes: [{ field: 'spec.ports[0].name', message: 'Required value' }],
      }),
    );
    expect(r?.message).toBe('Service "turbo" is invalid (spec.ports[0].name: Required value)');
  });

  it('is undefined for a transient error', () => {
    expect(rejectionOf('Service', 'turbo', apiError(503, 'unavailable'))).toBeUndefined();
  });
});

describe('apiStatus', () => {
  it('reads the Status body, never the client’s HTTP-Code text', () => {
    const err = apiError(422, 'ConfigMap "x" is invalid: data: Too long');
    expect(String(err)).toContain('HTTP-Code: 422');
    expect(describeApiError(err)).toBe('ConfigMap "x" is invalid: data: Too long');
    expect(apiStatus(err)).toMatchObject({ code: 422, reason: 'Invalid' });
  });

  it('keeps a non-JSON body as the message and the first line of a transport error', () => {
    const proxy = new ApiException(
      502,
      'Unsuccessful HTTP Request',
      '<html>Bad Gateway</html>',
      {},
    );
    expect(describeApiError(proxy)).toBe('<html>Bad Gateway</html>');
    expect(describeApiError(new Error('socket hang up\n    at ...'))).toBe('socket hang up');
  });

  it('reads client-node Watch’s error: the status text, with its statusCode (the runtime’s watch)', () => {
    const watch = Object.assign(new Error('Forbidden'), { statusCode: 403 });
    expect(apiStatus(watch)).toEqual({ code: 403, message: 'Forbidden', causes: [] });
    expect(describeApiError(watch)).toBe('Forbidden');
  });
});
