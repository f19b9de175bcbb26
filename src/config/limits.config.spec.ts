import { ConfigValidationError } from './env.validation';
import { limitsOf } from './limits.config';

describe('limitsOf', () => {
  it('fills the defaults', () => {
    expect(limitsOf({})).toEqual({
      maxBodyBytes: 32 * 1024 * 1024,
      maxControlBodyBytes: 16 * 1024,
      maxElements: 2 ** 24,
      maxDepth: 64,
      requestTimeoutMs: 60_000,
      headersTimeoutMs: 10_000,
      keepAliveTimeoutMs: 72_000,
    });
  });

  it('keeps the headers timeout within the request timeout (Node refuses more)', () => {
    const sut = limitsOf({ API_REQUEST_TIMEOUT_MS: '5000', API_HEADERS_TIMEOUT_MS: '20000' });

    expect(sut.headersTimeoutMs).toBe(5000);
  });

  it('names every bad limit, never its value', () => {
    expect(() => limitsOf({ API_MAX_BODY_BYTES: '12', API_MAX_DEPTH: 'deep' })).toThrow(
      ConfigValidationError,
    );
    expect(() => limitsOf({ API_MAX_BODY_BYTES: '12' })).toThrow(/API_MAX_BODY_BYTES/);
    expect(() => limitsOf({ API_MAX_DEPTH: 'deep' })).not.toThrow(/deep/);
  });
});
