import { FakeRetryEnvironment } from '../testing/fake-transport';
import {
  RetryDecisionInput,
  RetryPolicy,
  backoffDelay,
  exponentialDelay,
  withRetry,
} from './retry.policy';

const policy: RetryPolicy = {
  maxRetries: 3,
  baseDelayMs: 100,
  maxDelayMs: 1000,
  maxTotalMs: 60_000,
};

class Failure extends Error {
  constructor(
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(retryable ? 'transient' : 'permanent');
  }
}

const classify = (error: Failure): RetryDecisionInput => ({
  retryable: error.retryable,
  retryAfterMs: error.retryAfterMs,
});

/** An operation that fails with the given errors, in order, then succeeds. */
function failingThen(errors: Failure[], result = 'ok', env?: FakeRetryEnvironment, costMs = 0) {
  const calls: number[] = [];
  const attempt = (attemptNumber: number): Promise<string> => {
    calls.push(attemptNumber);
    env?.advance(costMs);
    const error = errors[attemptNumber - 1];
    return error ? Promise.reject(error) : Promise.resolve(result);
  };
  return { attempt, calls };
}

describe('backoffDelay', () => {
  const almostOne = () => 0.999999;

  it('grows exponentially from the base delay', () => {
    expect(backoffDelay(1, policy, almostOne)).toBe(99);
    expect(backoffDelay(2, policy, almostOne)).toBe(199);
    expect(backoffDelay(3, policy, almostOne)).toBe(399);
    expect(backoffDelay(4, policy, almostOne)).toBe(799);
  });

  it('never exceeds the maximum delay', () => {
    expect(backoffDelay(5, policy, almostOne)).toBe(999);
    expect(backoffDelay(30, policy, almostOne)).toBe(999);
  });

  it('draws a full jitter between zero and the ceiling', () => {
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(200);
    for (let i = 0; i < 50; i++) {
      const delay = backoffDelay(3, policy, Math.random);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(400);
    }
  });

  it('honours a Retry-After longer than the jittered delay', () => {
    expect(backoffDelay(1, policy, () => 0.5, 700)).toBe(700);
  });

  it('caps a Retry-After at the maximum delay', () => {
    expect(backoffDelay(1, policy, () => 0.5, 120_000)).toBe(1000);
  });

  it('keeps the jittered delay when the Retry-After is shorter', () => {
    expect(backoffDelay(4, policy, () => 0.5, 10)).toBe(400);
  });
});

describe('withRetry', () => {
  let env: FakeRetryEnvironment;

  beforeEach(() => {
    env = new FakeRetryEnvironment(0.5);
  });

  it('returns the first success without sleeping', async () => {
    const { attempt, calls } = failingThen([]);

    await expect(withRetry(attempt, policy, classify, env)).resolves.toBe('ok');
    expect(calls).toEqual([1]);
    expect(env.sleeps).toEqual([]);
  });

  it('retries transient failures with growing delays until one succeeds', async () => {
    const { attempt, calls } = failingThen([new Failure(true), new Failure(true)]);

    await expect(withRetry(attempt, policy, classify, env)).resolves.toBe('ok');
    expect(calls).toEqual([1, 2, 3]);
    expect(env.sleeps).toEqual([50, 100]);
  });

  it('stops at the first non-retryable failure', async () => {
    const permanent = new Failure(false);
    const { attempt, calls } = failingThen([new Failure(true), permanent]);

    await expect(withRetry(attempt, policy, classify, env)).rejects.toBe(permanent);
    expect(calls).toEqual([1, 2]);
    expect(env.sleeps).toHaveLength(1);
  });

  it('gives up after maxRetries retries with the last error', async () => {
    const errors = [1, 2, 3, 4, 5].map(() => new Failure(true));
    const { attempt, calls } = failingThen(errors);

    await expect(withRetry(attempt, policy, classify, env)).rejects.toBe(errors[3]);
    expect(calls).toEqual([1, 2, 3, 4]);
    expect(env.sleeps).toHaveLength(3);
  });

  it('makes a single attempt when maxRetries is 0', async () => {
    const { attempt, calls } = failingThen([new Failure(true)]);

    await expect(withRetry(attempt, { ...policy, maxRetries: 0 }, classify, env)).rejects.toThrow(
      'transient',
    );
    expect(calls).toEqual([1]);
  });

  it('does not start a retry that would end past the total time budget', async () => {
    // Each attempt takes 300 ms; delays at random 0.5 with base 1000 are 500 ms.
    const budget: RetryPolicy = {
      maxRetries: 10,
      baseDelayMs: 1000,
      maxDelayMs: 1000,
      maxTotalMs: 2000,
    };
    const errors = Array.from({ length: 11 }, () => new Failure(true));
    const { attempt, calls } = failingThen(errors, 'ok', env, 300);

    await expect(withRetry(attempt, budget, classify, env)).rejects.toBe(errors[2]);
    // Attempt 1 fails at t=300; 300+500 < 2000, sleep to 800. Attempt 2 fails at 1100;
    // 1100+500 < 2000, sleep to 1600. Attempt 3 fails at 1900; 1900+500 ≥ 2000: give up.
    expect(calls).toEqual([1, 2, 3]);
    expect(env.sleeps).toEqual([500, 500]);
  });

  it('passes the Retry-After to the delay, capped at the maximum delay', async () => {
    const { attempt } = failingThen([new Failure(true, 800), new Failure(true, 5000)]);

    await withRetry(attempt, policy, classify, env);

    expect(env.sleeps).toEqual([800, 1000]);
  });

  it('tells onGiveUp how many attempts were made and rejects with what it returns', async () => {
    const { attempt } = failingThen([1, 2, 3, 4].map(() => new Failure(true)));
    const seen: { error: Failure; attempts: number }[] = [];

    const result = withRetry(attempt, policy, classify, env, (error, attempts) => {
      seen.push({ error, attempts });
      return new Error(`gave up after ${attempts}`);
    });

    await expect(result).rejects.toThrow('gave up after 4');
    expect(seen).toHaveLength(1);
    expect(seen[0].attempts).toBe(4);
  });

  it('tells onGiveUp the attempt count when a non-retryable error stops it early', async () => {
    const { attempt } = failingThen([new Failure(true), new Failure(false)]);
    let attempts = 0;

    await expect(
      withRetry(attempt, policy, classify, env, (error, n) => {
        attempts = n;
        return error;
      }),
    ).rejects.toThrow('permanent');
    expect(attempts).toBe(2);
  });
});

describe('exponentialDelay', () => {
  it('doubles the base for every attempt before this one', () => {
    expect([1, 2, 3, 4].map((attempt) => exponentialDelay(attempt, 100, 60_000))).toEqual([
      100, 200, 400, 800,
    ]);
  });

  it('never exceeds the cap, however many attempts came before', () => {
    expect(exponentialDelay(7, 100, 5_000)).toBe(5_000);
    expect(exponentialDelay(100_000, 100, 5_000)).toBe(5_000);
  });
});
