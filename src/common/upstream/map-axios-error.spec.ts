import { AxiosError, AxiosHeaders, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { ErrorBodyParser, mapAxiosError, parseRetryAfter } from './map-axios-error';
import {
  UpstreamError,
  UpstreamInvalidRequestError,
  UpstreamNotFoundError,
  UpstreamTlsError,
  UpstreamTransientError,
  UpstreamUnauthorizedError,
} from './upstream.error';

/** MLflow's `{"error_code", "message"}` body. */
const parseBody: ErrorBodyParser = (body) => {
  const wire = (body ?? {}) as { error_code?: string; message?: string };
  return { code: wire.error_code, message: wire.message };
};

const SECRET_HEADER = 'Basic YWxpY2U6aHVudGVyMg==';

function config(url = '/api/2.0/mlflow/registered-models/get', method = 'get') {
  return {
    method,
    url,
    headers: new AxiosHeaders({ Authorization: SECRET_HEADER }),
  } as InternalAxiosRequestConfig;
}

function responseError(
  status: number,
  data: unknown,
  headers: Record<string, string> = {},
  requestConfig = config(),
): AxiosError {
  const response: AxiosResponse = {
    status,
    statusText: '',
    data,
    headers: AxiosHeaders.from(headers),
    config: requestConfig,
  };
  const code = status < 500 ? AxiosError.ERR_BAD_REQUEST : AxiosError.ERR_BAD_RESPONSE;
  return new AxiosError(
    `Request failed with status code ${status}`,
    code,
    requestConfig,
    {},
    response,
  );
}

function networkError(code: string | undefined, message = `connect ${code}`, cause?: unknown) {
  const error = new AxiosError(message, code, config(), {});
  if (cause !== undefined) {
    error.cause = cause as Error;
  }
  return error;
}

function map(error: unknown): UpstreamError {
  const mapped = mapAxiosError('mlflow', error, parseBody);
  expect(mapped).toBeInstanceOf(UpstreamError);
  return mapped as UpstreamError;
}

describe('mapAxiosError', () => {
  describe('answers', () => {
    it('maps a 404 to not found with the upstream message', () => {
      const sut = map(
        responseError(404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'Model x not found' }),
      );

      expect(sut).toBeInstanceOf(UpstreamNotFoundError);
      expect(sut.reason).toBe('not_found');
      expect(sut.retryable).toBe(false);
      expect(sut.status).toBe(404);
      expect(sut.details.upstreamCode).toBe('RESOURCE_DOES_NOT_EXIST');
      expect(sut.message).toBe(
        'mlflow: GET /api/2.0/mlflow/registered-models/get → 404 RESOURCE_DOES_NOT_EXIST: Model x not found',
      );
    });

    it('maps RESOURCE_DOES_NOT_EXIST to not found whatever the status', () => {
      const sut = map(
        responseError(400, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'Run abc not found' }),
      );

      expect(sut).toBeInstanceOf(UpstreamNotFoundError);
      expect(sut.status).toBe(400);
    });

    it('maps a 401 to unauthorized', () => {
      const sut = map(responseError(401, { message: 'You are not authenticated' }));

      expect(sut).toBeInstanceOf(UpstreamUnauthorizedError);
      expect(sut.reason).toBe('unauthorized');
      expect(sut.retryable).toBe(false);
      expect(sut.message).toContain('You are not authenticated');
    });

    it('maps a 403 to forbidden', () => {
      const sut = map(
        responseError(403, { error_code: 'PERMISSION_DENIED', message: 'no access' }),
      );

      expect(sut).toBeInstanceOf(UpstreamUnauthorizedError);
      expect(sut.reason).toBe('forbidden');
    });

    it('maps a 403 Invalid Host header to rejected_host', () => {
      const sut = map(
        responseError(403, 'Invalid Host header - possible DNS rebinding attack detected'),
      );

      expect(sut).toBeInstanceOf(UpstreamUnauthorizedError);
      expect(sut.reason).toBe('rejected_host');
      expect(sut.message).toContain('Invalid Host header');
    });

    it('maps a 408 to a transient timeout', () => {
      const sut = map(responseError(408, ''));

      expect(sut).toBeInstanceOf(UpstreamTransientError);
      expect(sut.reason).toBe('timeout');
      expect(sut.retryable).toBe(true);
    });

    it('maps a 429 with Retry-After in seconds to rate_limited with retryAfterMs', () => {
      const sut = map(responseError(429, { message: 'slow down' }, { 'retry-after': '3' }));

      expect(sut).toBeInstanceOf(UpstreamTransientError);
      expect(sut.reason).toBe('rate_limited');
      expect(sut.details.retryAfterMs).toBe(3000);
    });

    it('maps a 429 with Retry-After as an HTTP date to the time until that date', () => {
      const now = Date.parse('2025-03-01T12:00:00Z');
      const spy = jest.spyOn(Date, 'now').mockReturnValue(now);
      try {
        const sut = map(responseError(429, {}, { 'retry-after': 'Sat, 01 Mar 2025 12:00:05 GMT' }));

        expect(sut.reason).toBe('rate_limited');
        expect(sut.details.retryAfterMs).toBe(5000);
      } finally {
        spy.mockRestore();
      }
    });

    it.each([500, 502, 503, 504])('maps a %i to a transient server_error', (status) => {
      const sut = map(responseError(status, '<html>Bad Gateway</html>'));

      expect(sut).toBeInstanceOf(UpstreamTransientError);
      expect(sut.reason).toBe('server_error');
      expect(sut.retryable).toBe(true);
      expect(sut.status).toBe(status);
    });

    it('keeps the Retry-After of a 503', () => {
      const sut = map(responseError(503, {}, { 'retry-after': '1' }));

      expect(sut.details.retryAfterMs).toBe(1000);
    });

    it('maps a 409 to an invalid request with reason conflict', () => {
      const sut = map(
        responseError(409, { error_code: 'RESOURCE_ALREADY_EXISTS', message: 'exists' }),
      );

      expect(sut).toBeInstanceOf(UpstreamInvalidRequestError);
      expect(sut.reason).toBe('conflict');
      expect(sut.retryable).toBe(false);
    });

    it.each([400, 422])('maps a %i to an invalid request', (status) => {
      const sut = map(
        responseError(status, { error_code: 'INVALID_PARAMETER_VALUE', message: 'bad name' }),
      );

      expect(sut).toBeInstanceOf(UpstreamInvalidRequestError);
      expect(sut.reason).toBe('invalid_request');
      expect(sut.message).toContain('INVALID_PARAMETER_VALUE: bad name');
    });

    it('reads a JSON error body that arrived as text', () => {
      const sut = map(
        responseError(404, '{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"gone"}'),
      );

      expect(sut.details.upstreamCode).toBe('RESOURCE_DOES_NOT_EXIST');
      expect(sut.message).toContain('gone');
    });

    it('falls back to the status text when the body says nothing', () => {
      const error = responseError(500, undefined);
      error.response!.statusText = 'Internal Server Error';

      expect(map(error).message).toContain('→ 500: Internal Server Error');
    });

    it('survives a body parser that throws', () => {
      const error = responseError(404, { message: 'x' });
      const sut = mapAxiosError('mlflow', error, () => {
        throw new Error('parser bug');
      });

      expect(sut).toBeInstanceOf(UpstreamNotFoundError);
    });
  });

  describe('network failures', () => {
    it.each([
      ['ECONNREFUSED', 'connection_refused'],
      ['ECONNRESET', 'connection_reset'],
      ['EPIPE', 'connection_reset'],
      ['ETIMEDOUT', 'timeout'],
      ['ECONNABORTED', 'timeout'],
      ['ENOTFOUND', 'dns'],
      ['EAI_AGAIN', 'dns'],
      ['EHOSTUNREACH', 'network'],
    ])('maps %s to a transient %s', (code, reason) => {
      const sut = map(networkError(code));

      expect(sut).toBeInstanceOf(UpstreamTransientError);
      expect(sut.reason).toBe(reason);
      expect(sut.retryable).toBe(true);
      expect(sut.status).toBeUndefined();
      expect(sut.message).toContain(`(${code})`);
    });

    it('reads the code from an AggregateError cause whose members carry it', () => {
      const refused = (address: string) =>
        Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });
      const cause = new AggregateError([refused('::1:5000'), refused('127.0.0.1:5000')], '');

      const sut = map(networkError(AxiosError.ERR_NETWORK, '', cause));

      expect(sut.reason).toBe('connection_refused');
      expect(sut.message).toContain('(ECONNREFUSED)');
    });

    it('reads the code from the cause when axios gives none', () => {
      const cause = Object.assign(new Error('getaddrinfo ENOTFOUND mlflow'), { code: 'ENOTFOUND' });

      expect(map(networkError(undefined, 'getaddrinfo ENOTFOUND mlflow', cause)).reason).toBe(
        'dns',
      );
    });

    it('calls a codeless failure mentioning a timeout a timeout', () => {
      expect(map(networkError(undefined, 'timeout of 10000ms exceeded')).reason).toBe('timeout');
    });

    it.each([
      'CERT_HAS_EXPIRED',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'ERR_TLS_CERT_ALTNAME_INVALID',
    ])('maps %s to a TLS error that is not retried', (code) => {
      const sut = map(networkError(code, 'certificate problem'));

      expect(sut).toBeInstanceOf(UpstreamTlsError);
      expect(sut.reason).toBe('tls');
      expect(sut.retryable).toBe(false);
      expect(sut.message).toContain(code);
    });

    it.each([
      ['CERT_HAS_EXPIRED', 'expired'],
      ['CERT_NOT_YET_VALID', 'expired'],
      ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self_signed'],
      ['SELF_SIGNED_CERT_IN_CHAIN', 'self_signed'],
      ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'untrusted_issuer'],
      ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'untrusted_issuer'],
      ['ERR_TLS_CERT_ALTNAME_INVALID', 'wrong_name'],
      ['ERR_SSL_WRONG_VERSION_NUMBER', 'protocol'],
    ])('reads %s as the TLS problem %s, and keeps it through withAttempts', (code, problem) => {
      const sut = map(networkError(code, 'certificate problem')) as UpstreamTlsError;

      expect(sut.code).toBe(code);
      expect(sut.problem).toBe(problem);
      expect(sut.withAttempts(2).problem).toBe(problem);
    });

    it('does not take an Object prototype key for a TLS code', () => {
      expect(map(networkError('constructor', 'odd')).reason).toBe('network');
    });
  });

  describe('secrets', () => {
    const url = 'http://alice:hunter2@mlflow:5000/api/2.0/mlflow/runs/get?run_id=1&token=tok-999';

    it('never puts the query string, userinfo or Authorization header in the message', () => {
      const errors = [
        responseError(500, { message: 'boom' }, {}, config(url)),
        responseError(401, { message: 'who are you' }, {}, config(url)),
        Object.assign(networkError('ECONNREFUSED'), { config: config(url) }),
        Object.assign(networkError('CERT_HAS_EXPIRED', 'certificate has expired'), {
          config: config(url),
        }),
      ];

      for (const error of errors) {
        const sut = map(error);
        const everything = `${sut.message} ${JSON.stringify(sut)} ${String(sut.stack)}`;
        expect(everything).not.toContain('hunter2');
        expect(everything).not.toContain('alice');
        expect(everything).not.toContain('tok-999');
        expect(everything).not.toContain('run_id');
        expect(everything).not.toContain(SECRET_HEADER);
        expect(sut.message).toContain('http://mlflow:5000/api/2.0/mlflow/runs/get');
      }
    });

    it('keeps no reference to the axios error or its config', () => {
      const sut = map(responseError(500, {}, {}, config(url)));

      expect(sut.cause).toBeUndefined();
      expect(Object.values(sut)).not.toContainEqual(
        expect.objectContaining({ headers: expect.anything() }),
      );
    });
  });

  it('passes an UpstreamError through unchanged', () => {
    const error = new UpstreamNotFoundError('mlflow', 'not_found', 'already mapped');

    expect(mapAxiosError('mlflow', error, parseBody)).toBe(error);
  });

  it('passes an error that is not from axios through unchanged', () => {
    const error = new Error('disk full');

    expect(mapAxiosError('mlflow', error, parseBody)).toBe(error);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-03-01T12:00:00Z');

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('0', now)).toBe(0);
  });

  it('reads an HTTP date relative to now', () => {
    expect(parseRetryAfter('Sat, 01 Mar 2025 12:01:00 GMT', now)).toBe(60_000);
  });

  it('never returns a negative delay', () => {
    expect(parseRetryAfter('-5', now)).toBe(0);
    expect(parseRetryAfter('Sat, 01 Mar 2025 11:00:00 GMT', now)).toBe(0);
  });

  it.each([undefined, '', '   ', 'soon', 5])('ignores %p', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});
