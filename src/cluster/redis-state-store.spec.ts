import { connectionFailure, escapeGlob, reconnectDelay } from './redis-state-store';

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
