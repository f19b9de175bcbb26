import { connectionFailure, storeFailureReason } from './redis-failures';
import { escapeGlob, reconnectDelay } from './redis-state-store';

describe('reconnectDelay', () => {
  const noJitter = () => 0;

  it('starts at 100 ms and doubles with every failed attempt', () => {
    expect([1, 2, 3, 4].map((attempt) => reconnectDelay(attempt, 60_000, noJitter))).toEqual([
      100, 200, 400, 800,
    ]);
  });

  it('never exceeds the maximum, however many attempts failed', () => {
    expect(reconnectDelay(7, 5_000, noJitter)).toBe(5_000);
    expect(reconnectDelay(10_000, 5_000, noJitter)).toBe(5_000);
  });

  it('takes at most a fifth off at random', () => {
    expect(reconnectDelay(3, 60_000, () => 0.999999)).toBe(320);
    for (let i = 0; i < 50; i++) {
      const delay = reconnectDelay(6, 5_000, Math.random);
      expect(delay).toBeGreaterThanOrEqual(2_560);
      expect(delay).toBeLessThanOrEqual(3_200);
    }
  });
});

describe('escapeGlob', () => {
  it('escapes every character SCAN MATCH reads as a pattern', () => {
    expect(escapeGlob('a*b?c[d]e\\f')).toBe('a\\*b\\?c\\[d\\]e\\\\f');
  });

  it('leaves the characters of a deployment prefix alone', () => {
    expect(escapeGlob('modelgate:instances.v1-x_')).toBe('modelgate:instances.v1-x_');
  });
});

describe('connectionFailure', () => {
  /** An error as ioredis or redis-errors builds it: a name and a message. */
  const failure = (name: string, message: string) => Object.assign(new Error(message), { name });

  it('names the ways ioredis 5 says Redis was not reached or did not answer', () => {
    expect(connectionFailure(new Error('Command timed out'))).toBe('Redis did not answer in time');
    expect(
      connectionFailure(
        new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      ),
    ).toBe('not connected');
    expect(connectionFailure(new Error('Connection is closed.'))).toBe('connection closed');
    expect(
      connectionFailure(
        failure('MaxRetriesPerRequestError', 'Reached the max retries per request limit'),
      ),
    ).toBe('the connection closed before Redis answered');
  });

  it('counts a Redis that cannot serve now as unavailable', () => {
    const loading = failure('ReplyError', 'LOADING Redis is loading the dataset in memory');
    expect(connectionFailure(loading)).toBe(loading.message);
  });

  it('leaves other errors to the caller', () => {
    const wrongType = failure(
      'ReplyError',
      'WRONGTYPE Operation against a key holding the wrong kind of value',
    );
    expect(connectionFailure(wrongType)).toBeUndefined();
    expect(connectionFailure(new TypeError('x is not a function'))).toBeUndefined();
    expect(connectionFailure('Command timed out')).toBeUndefined();
  });
});

describe('storeFailureReason', () => {
  const failure = (name: string, message: string) => Object.assign(new Error(message), { name });
  /** A socket error as Node raises it: the message says little, the code says what happened. */
  const socketError = (code: string) => Object.assign(new Error('connect failed'), { code });

  it('reads socket failures from the error code, not the message', () => {
    expect(storeFailureReason(socketError('ECONNREFUSED'))).toBe('connection_refused');
    expect(storeFailureReason(socketError('ENOTFOUND'))).toBe('dns');
    expect(storeFailureReason(socketError('EAI_AGAIN'))).toBe('dns');
    expect(storeFailureReason(socketError('ETIMEDOUT'))).toBe('timeout');
    expect(storeFailureReason(socketError('ECONNRESET'))).toBe('connection_reset');
  });

  it("finds the code inside Node 20's AggregateError from a happy-eyeballs connect", () => {
    const aggregate = new AggregateError([
      socketError('ECONNREFUSED'),
      socketError('ECONNREFUSED'),
    ]);

    expect(storeFailureReason(aggregate)).toBe('connection_refused');
  });

  it('does not guess from a message that merely mentions a code', () => {
    expect(storeFailureReason(new Error('ECONNREFUSED 127.0.0.1:6379'))).toBe('network');
  });

  it('reads NOAUTH and WRONGPASS replies as unauthorized, from the reply code', () => {
    expect(storeFailureReason(failure('ReplyError', 'NOAUTH Authentication required.'))).toBe(
      'unauthorized',
    );
    expect(
      storeFailureReason(
        failure('ReplyError', 'WRONGPASS invalid username-password pair or user is disabled.'),
      ),
    ).toBe('unauthorized');
    expect(storeFailureReason(failure('Error', 'WRONGPASS in a plain error'))).toBe('network');
  });

  it('reads a Redis that cannot serve now as a server error', () => {
    expect(storeFailureReason(failure('ReplyError', 'LOADING Redis is loading'))).toBe(
      'server_error',
    );
  });

  it('reads ioredis timeouts and dropped commands', () => {
    expect(storeFailureReason(new Error('Command timed out'))).toBe('timeout');
    expect(storeFailureReason(failure('MaxRetriesPerRequestError', 'Reached the max'))).toBe(
      'connection_reset',
    );
  });
});
